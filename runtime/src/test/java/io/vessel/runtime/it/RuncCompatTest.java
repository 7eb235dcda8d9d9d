package io.vessel.runtime.it;

import io.vessel.json.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What podman (through conmon) asks of a runc-compatible runtime beyond the OCI spec, checked
 * without podman: runc's mount option "tmpcopyup", device fileModes with the file type bits, errors
 * as JSON lines in --log, signals by name or number, ps options after the id, delete --force of a
 * container that is gone.
 */
class RuncCompatTest extends FeatureSupport {

    private void mount(Map<String, Object> m) {
        bundle.edit(s -> {
            List<Object> mounts = new ArrayList<>(Bundle.list(s, "mounts"));
            mounts.add(m);
            s.put("mounts", mounts);
        });
    }

    @Test
    void tmpcopyupFillsTheTmpfsWithWhatItCovers() throws Exception {
        Path etc = bundle.rootfs().resolve("etc");
        Files.createDirectories(etc.resolve("sub/deeper"));
        Files.writeString(etc.resolve("sub/deeper/file"), "kept\n");
        Bundle.sh("chown", "1234:5678", etc.resolve("sub/deeper/file").toString());
        Bundle.sh("chmod", "604", etc.resolve("sub/deeper/file").toString());
        Files.createSymbolicLink(etc.resolve("link"), Path.of("sub/deeper/file"));
        mount(Map.of("destination", "/etc", "type", "tmpfs", "source", "tmpfs",
                "options", List.of("rw", "nosuid", "nodev", "tmpcopyup")));
        bundle.args("sh", "-c", "cat /etc/link; stat -c '%u:%g %a' /etc/sub/deeper/file; grep -c root /etc/passwd; "
                + "grep ' /etc ' /proc/mounts | cut -d' ' -f3; echo new > /etc/new").write();
        RuntimeCli.Result r = rt.run("run", "--bundle", bundle.dir.toString(), "copyup");
        assertEquals("kept\n1234:5678 604\n1\ntmpfs\n", r.out(), r.err());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.notExists(etc.resolve("new")), "the write went to the tmpfs, not the rootfs");
    }

    @Test
    void deviceFileModeMayCarryTheFileType() throws Exception {
        // podman writes "fileMode": 8630 (0020666) for a character device, as runc accepts
        bundle.args("stat", "-c", "%F %a %t:%T", "/dev/extra-null").edit(s -> Bundle.list(Bundle.map(s, "linux"),
                "devices").add(Map.of("path", "/dev/extra-null", "type", "c", "major", 1, "minor", 3,
                "fileMode", 0020640))).write();
        RuntimeCli.Result r = rt.run("run", "--bundle", bundle.dir.toString(), "dev");
        assertEquals("character special file 640 1:3\n", r.out(), r.err());
        // type bits that contradict the type are refused
        bundle.edit(s -> Bundle.map(s, "linux").put("devices", List.of(Map.of("path", "/dev/x", "type", "c",
                "major", 1, "minor", 3, "fileMode", 0060640)))).write();
        RuntimeCli.Result bad = rt.run("run", "--bundle", bundle.dir.toString(), "dev2");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("linux.devices[0].fileMode has the file type bits 060000"), bad.err());
    }

    @Test
    void errorsGoToTheLogAsJsonLines() throws Exception {
        // conmon reads the runtime's error from --log (with --log-format json): {"level":"error","msg":...}
        bundle.args("/no/such/program").write();
        Path log = tmp.resolve("oci-log");
        RuntimeCli.Result r = rt.run("--log", log.toString(), "--log-format", "json", "create", "--bundle",
                bundle.dir.toString(), "nolog");
        assertEquals(1, r.exit());
        List<String> lines = Files.readAllLines(log);
        assertEquals(1, lines.size(), lines.toString());
        JsonNode line = JsonNode.parse("log", lines.getFirst());
        assertEquals("error", line.get("level").string());
        assertTrue(line.get("msg").string().contains("/no/such/program"), lines.getFirst());
        assertTrue(line.get("time").string().matches("\\d{4}-.*"), lines.getFirst());
    }

    @Test
    void signalsByNameOrNumberAndPsOptionsAfterTheId() throws Exception {
        bundle.args("sh", "-c", "trap 'echo got-usr1 > /tmp/usr1' USR1; trap 'echo got-hup > /tmp/hup' HUP; "
                + "while :; do sleep 0.05; done").write();
        rt.run("create", "--bundle", bundle.dir.toString(), "sig").ok();
        rt.run("start", "sig").ok();
        rt.run("kill", "sig", "SIGUSR1").ok();
        rt.run("kill", "sig", "1").ok(); // SIGHUP, as podman sends it
        for (int i = 0; i < 100 && !(Files.exists(bundle.rootfs().resolve("tmp/usr1"))
                && Files.exists(bundle.rootfs().resolve("tmp/hup"))); i++) {
            Thread.sleep(50);
        }
        assertEquals("got-usr1\n", Files.readString(bundle.rootfs().resolve("tmp/usr1")));
        assertEquals("got-hup\n", Files.readString(bundle.rootfs().resolve("tmp/hup")));
        // runc ps ID [ps options]: what follows the id is ps(1)'s
        String ps = rt.run("ps", "sig", "-o", "pid,comm").ok().out();
        assertTrue(ps.lines().findFirst().orElse("").trim().startsWith("PID"), ps);
        assertTrue(ps.lines().skip(1).anyMatch(l -> l.trim().endsWith(" sh")), ps);
        rt.run("kill", "sig", "KILL").ok();
        for (int i = 0; i < 100 && !JsonNode.parse("s", rt.run("state", "sig").ok().out()).get("status").string()
                .equals("stopped"); i++) {
            Thread.sleep(20);
        }
        rt.run("delete", "sig").ok();
        // podman's cleanup deletes with --force what may be gone already
        rt.run("delete", "--force", "sig").ok();
        assertEquals(1, rt.run("delete", "sig").exit());
    }
}
