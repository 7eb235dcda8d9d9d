package io.vessel.cli;

import io.vessel.json.JsonNode;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Shows Docker's JSON message stream (pull, push, build, load, import) as the docker CLI does. On
 * a terminal each layer keeps one line, redrawn in place with its bar and {@code done/total} as
 * progress messages come; elsewhere (a pipe, a log) a layer's line is printed when its status
 * changes and byte counts are left out. Build output ({@code stream}) is printed as it is; the
 * built image's ID ({@code aux.ID}) is kept for {@code -q}.
 */
final class MessageDisplay implements Consumer<JsonNode> {
    /** Cells of docker's progress bar between the brackets. */
    private static final int BAR_WIDTH = 50;

    private final PrintStream out;
    private final boolean ansi;
    private final boolean quiet;
    private final List<String> ids = new ArrayList<>();
    private final Map<String, String> lastStatus = new HashMap<>();
    private String auxId;

    /**
     * @param ansi  {@code out} is a terminal: redraw layer lines in place
     * @param quiet print nothing (the caller prints a summary)
     */
    MessageDisplay(PrintStream out, boolean ansi, boolean quiet) {
        this.out = out;
        this.ansi = ansi;
        this.quiet = quiet;
    }

    /** The {@code aux.ID} the stream carried (a build's image), or null. */
    String auxId() {
        return auxId;
    }

    @Override
    public void accept(JsonNode m) {
        JsonNode aux = m.get("aux");
        if (aux.isObject() && aux.get("ID").present()) {
            auxId = aux.get("ID").string("");
        }
        if (quiet) {
            return;
        }
        if (m.get("stream").present()) {
            out.print(m.get("stream").string(""));
            out.flush();
            return;
        }
        String status = m.get("status").string("");
        if (status.isEmpty()) {
            return;
        }
        String id = m.get("id").string("");
        if (id.isEmpty()) {
            out.println(status);
            out.flush();
            return;
        }
        JsonNode detail = m.get("progressDetail");
        boolean progress = detail.isObject() && detail.get("current").present();
        String line = id + ": " + status;
        if (!ansi) {
            if (!progress && !status.equals(lastStatus.put(id, status))) {
                out.println(line);
                out.flush();
            }
            return;
        }
        if (progress) {
            line += " " + bar(detail.get("current").longValue(0), detail.get("total").longValue(-1));
        }
        int row = ids.indexOf(id);
        if (row < 0) {
            ids.add(id);
            out.print("\033[2K" + line + "\n");
        } else {
            int up = ids.size() - row;
            // up to the layer's line, clear it, write, back down below the last line
            out.print("\033[" + up + "A\r\033[2K" + line + "\r\033[" + up + "B");
        }
        out.flush();
    }

    /** {@code [=====>     ]  1.5MB/3MB}, or only the count when the total is unknown. */
    static String bar(long current, long total) {
        if (total <= 0) {
            return Units.size(current);
        }
        int filled = (int) Math.min(BAR_WIDTH, current * BAR_WIDTH / total);
        return "[" + "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") + " ".repeat(BAR_WIDTH - filled) + "]  "
                + Units.size(current) + "/" + Units.size(total);
    }
}
