package io.vessel.cli;

import io.vessel.json.Json;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --format}, as docker takes it: nothing or {@code table} for the command's own table or
 * text, {@code json} for one JSON object per line, or a Go template ({@link GoTemplate}) applied to
 * each row or document; a template that starts with {@code table} is aligned in columns under a
 * header made of the fields' names.
 */
final class Formats {
    private Formats() {
    }

    /** What {@code --format} asked for. */
    record Format(GoTemplate template, boolean json, boolean table) {
        static final Format PLAIN = new Format(null, false, false);

        /** The command's own table or text: no rows need to be made as maps. */
        boolean plain() {
            return template == null && !json;
        }
    }

    /** Docker's column headers for the fields rows have; other fields are headed by their name in capitals. */
    private static final Map<String, String> HEADERS = Map.ofEntries(
            Map.entry("RunningFor", "CREATED"), Map.entry("CreatedSince", "CREATED"),
            Map.entry("CreatedAt", "CREATED AT"), Map.entry("LocalVolumes", "LOCAL VOLUMES"),
            Map.entry("TotalCount", "TOTAL"), Map.entry("IPv6", "IPV6"));

    static Format parse(String format) throws UsageError {
        if (format == null || format.isEmpty() || format.strip().equals("table")) {
            return Format.PLAIN;
        }
        String f = format.strip();
        if (f.equals("json")) {
            return new Format(null, true, false);
        }
        boolean table = f.startsWith("table ") || f.startsWith("table\t") || f.startsWith("table\\t");
        String text = table ? f.substring(f.startsWith("table\\t") ? 7 : 6) : format;
        try {
            return new Format(GoTemplate.parse(text), false, table);
        } catch (GoTemplate.TemplateError e) {
            throw new UsageError("--format: " + e.getMessage());
        }
    }

    /**
     * A listing's rows, as JSON lines, a template per row, or a template's table under a header.
     *
     * @param headers the command's own headers for some fields ({@code ID} → {@code CONTAINER ID}, ...)
     */
    static void rows(PrintStream out, Format f, List<Map<String, Object>> rows, Map<String, String> headers)
            throws UsageError {
        if (f.json()) {
            for (Map<String, Object> r : rows) {
                out.println(Json.write(r));
            }
            return;
        }
        List<String> lines = new ArrayList<>();
        if (f.table()) {
            Map<String, Object> header = new LinkedHashMap<>();
            for (String k : rows.isEmpty() ? List.<String>of() : rows.getFirst().keySet()) {
                header.put(k, headers.getOrDefault(k, HEADERS.getOrDefault(k, capitals(k))));
            }
            lines.add(render(f, header));
        }
        for (Map<String, Object> r : rows) {
            lines.add(render(f, r));
        }
        if (f.table()) {
            align(out, lines);
        } else {
            lines.forEach(out::println);
        }
    }

    /** One document (inspect, version, info, an event): JSON on one line, or the template. */
    static void document(PrintStream out, Format f, Object doc) throws UsageError {
        out.println(f.json() ? Json.write(doc) : render(f, doc));
    }

    private static String render(Format f, Object data) throws UsageError {
        try {
            return f.template().render(data);
        } catch (GoTemplate.TemplateError e) {
            throw new UsageError("--format: " + e.getMessage());
        }
    }

    /** "RepoTags" → "REPO TAGS". */
    private static String capitals(String field) {
        return field.replaceAll("([a-z])([A-Z])", "$1 $2").toUpperCase(Locale.ROOT);
    }

    /** Tab-separated cells in columns three spaces apart, as docker's tabwriter sets them. */
    private static void align(PrintStream out, List<String> lines) {
        List<String[]> cells = new ArrayList<>();
        int columns = 0;
        for (String l : lines) {
            for (String line : l.split("\n", -1)) {
                String[] c = line.split("\t", -1);
                cells.add(c);
                columns = Math.max(columns, c.length);
            }
        }
        int[] width = new int[columns];
        for (String[] c : cells) {
            for (int i = 0; i < c.length - 1; i++) {
                width[i] = Math.max(width[i], c[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] c : cells) {
            for (int i = 0; i < c.length; i++) {
                b.append(c[i]);
                if (i < c.length - 1) {
                    b.append(" ".repeat(width[i] - c[i].length() + 3));
                }
            }
            out.println(b.toString().stripTrailing());
            b.setLength(0);
        }
    }
}
