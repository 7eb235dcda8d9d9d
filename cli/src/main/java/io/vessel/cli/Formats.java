package io.vessel.cli;

import io.vessel.json.Json;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * {@code --format}: {@code table} (the default), or {@code json} / {@code {{json .}}}, one JSON
 * object per line with the table's fields, as docker prints them.
 */
final class Formats {
    private Formats() {
    }

    /** Whether {@code format} asks for JSON lines; any other template is a usage error naming what is supported. */
    static boolean json(String format) throws UsageError {
        if (format == null || format.isEmpty() || format.equals("table")) {
            return false;
        }
        String f = format.strip();
        if (f.equals("json") || f.replace(" ", "").equals("{{json.}}")) {
            return true;
        }
        throw new UsageError("--format \"" + format + "\": vessel prints \"table\" or \"json\" ({{json .}})");
    }

    static void lines(PrintStream out, List<Map<String, Object>> rows) {
        for (Map<String, Object> r : rows) {
            out.println(Json.write(r));
        }
    }
}
