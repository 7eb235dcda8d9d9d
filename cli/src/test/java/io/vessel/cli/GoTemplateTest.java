package io.vessel.cli;

import io.vessel.json.Json;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docker's --format templates, as Go's text/template renders them, over an inspect-shaped document. */
class GoTemplateTest {
    private static final Object DOC = Json.parse("""
            {"Id": "abc123", "Name": "/web", "RestartCount": 2,
             "State": {"Status": "running", "Running": true, "Paused": false, "ExitCode": 0, "Pid": 42},
             "Config": {"Cmd": ["sh", "-c", "echo hi"], "Env": ["A=1", "B=two"], "Labels": {"z": "last", "a": "first"},
                        "Entrypoint": null},
             "Mounts": [{"Source": "/var/lib/x", "Destination": "/data"}, {"Source": "/tmp", "Destination": "/t"}],
             "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "10.88.0.2"}}}}
            """);

    private static String render(String template) throws Exception {
        return GoTemplate.parse(template).render(DOC);
    }

    @Test
    void fieldsAndGoPrinting() throws Exception {
        assertEquals("running true 42", render("{{.State.Status}} {{.State.Running}} {{.State.Pid}}"));
        assertEquals("/web", render("{{.Name}}"));
        assertEquals("[sh -c echo hi]", render("{{.Config.Cmd}}"));
        assertEquals("map[a:first z:last]", render("{{.Config.Labels}}"));
        assertEquals("<no value>", render("{{.Nope}}"));
        assertEquals("<no value>", render("{{.Nope.Deeper}}"));
    }

    @Test
    void functionsAndPipelines() throws Exception {
        assertEquals("[\"sh\",\"-c\",\"echo hi\"]", render("{{json .Config.Cmd}}"));
        assertEquals("{\"z\":\"last\",\"a\":\"first\"}", render("{{.Config.Labels | json}}"));
        assertEquals("A=1,B=two", render("{{join .Config.Env \",\"}}"));
        assertEquals("RUNNING", render("{{upper .State.Status}}"));
        assertEquals("Running", render("{{.State.Status | title}}"));
        assertEquals("10.88.0.2", render("{{(index .NetworkSettings.Networks \"bridge\").IPAddress}}"));
        assertEquals("10.88.0.2", render("{{with index .NetworkSettings.Networks \"bridge\"}}{{.IPAddress}}{{end}}"));
        assertEquals("echo hi", render("{{index .Config.Cmd 2}}"));
        assertEquals("3", render("{{len .Config.Cmd}}"));
        assertEquals("abc", render("{{truncate .Id 3}}"));
        assertEquals("id=abc123 restarts=02", render("{{printf \"id=%s restarts=%02d\" .Id .RestartCount}}"));
        assertEquals("[a b]", render("{{split \"a:b\" \":\"}}"));
    }

    @Test
    void conditionsAndRanges() throws Exception {
        assertEquals("up", render("{{if .State.Running}}up{{else}}down{{end}}"));
        assertEquals("down", render("{{if .State.Paused}}paused{{else if eq .State.ExitCode 1}}failed{{else}}down{{end}}"));
        assertEquals("yes", render("{{if and .State.Running (eq .State.Status \"running\")}}yes{{end}}"));
        assertEquals("/var/lib/x:/data /tmp:/t ", render("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}"));
        assertEquals("a=first;z=last;", render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"));
        assertEquals("/web/data,/web/t,", render("{{range $m := .Mounts}}{{$.Name}}{{$m.Destination}},{{end}}"));
        assertEquals("none", render("{{range .Config.Entrypoint}}x{{else}}none{{end}}"));
        assertEquals("a\nb", render("{{- \"a\" }}\n   {{- \"\\n\" -}}   \n{{ \"b\" -}}"));
    }

    @Test
    void errorsNameTheTemplate() {
        for (String bad : List.of("{{.State", "{{if .X}}open", "{{end}}", "{{nosuch .X}}", "{{\"open}}", "{{.A..B}}",
                "{{range $1 := .Mounts}}{{end}}")) {
            GoTemplate.TemplateError e = assertThrows(GoTemplate.TemplateError.class, () -> render(bad), bad);
            assertTrue(e.getMessage().contains("template \"" + bad + "\""), e.getMessage());
        }
        GoTemplate.TemplateError e = assertThrows(GoTemplate.TemplateError.class, () -> render("{{.Name.First}}"));
        assertTrue(e.getMessage().contains("can't evaluate field First in string"), e.getMessage());
    }

    @Test
    void tableTemplatesGetAHeaderAndColumns() throws Exception {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("ID", "0123456789ab");
        a.put("Names", "web");
        a.put("RunningFor", "2 minutes ago");
        Map<String, Object> b = new LinkedHashMap<>(a);
        b.put("ID", "ba9876543210");
        b.put("Names", "a-much-longer-name");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Formats.rows(out, Formats.parse("table {{.ID}}\\t{{.Names}}\\t{{.RunningFor}}"), List.of(a, b),
                Map.of("ID", "CONTAINER ID"));
        assertEquals("""
                CONTAINER ID   NAMES                CREATED
                0123456789ab   web                  2 minutes ago
                ba9876543210   a-much-longer-name   2 minutes ago
                """, bytes.toString(StandardCharsets.UTF_8));
        bytes.reset();
        Formats.rows(out, Formats.parse("{{.Names}}"), List.of(a, b), Map.of());
        assertEquals("web\na-much-longer-name\n", bytes.toString(StandardCharsets.UTF_8));
        assertThrows(UsageError.class, () -> Formats.parse("{{.Names"));
    }
}
