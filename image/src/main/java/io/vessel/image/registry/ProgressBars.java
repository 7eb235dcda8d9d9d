package io.vessel.image.registry;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Shows a pull or push on a terminal as Docker does: one line per blob with its id, state and,
 * while bytes move, a bar and {@code done/total}. On a terminal the lines are redrawn in place with
 * ANSI cursor movements; otherwise (a pipe, a log file) each state change is printed once on its own
 * line and byte counts are left out, so logs stay readable.
 */
public final class ProgressBars implements ProgressListener {
    private static final int BAR_WIDTH = 40;

    private final PrintStream out;
    private final boolean ansi;
    /** Blob id to its current line, in the order blobs first appeared. */
    private final Map<String, String> lines = new LinkedHashMap<>();
    private final Map<String, ProgressListener.State> states = new LinkedHashMap<>();

    /**
     * @param ansi whether {@code out} is a terminal that understands cursor movement
     */
    public ProgressBars(PrintStream out, boolean ansi) {
        this.out = out;
        this.ansi = ansi;
    }

    /** Bars on standard output, redrawn in place when it is a terminal. */
    public static ProgressBars stdout() {
        java.io.Console console = System.console();
        return new ProgressBars(System.out, console != null && console.isTerminal());
    }

    @Override
    public synchronized void onEvent(ProgressEvent event) {
        String line = format(event, ansi);
        if (!ansi) {
            if (states.get(event.id()) != event.state()) {
                states.put(event.id(), event.state());
                out.println(line);
                out.flush();
            }
            return;
        }
        List<String> ids = new ArrayList<>(lines.keySet());
        int row = ids.indexOf(event.id());
        lines.put(event.id(), line);
        if (row < 0) {
            out.print(line + "\n");
        } else {
            int up = ids.size() - row;
            // Up to the blob's line, clear it, write, and back down to below the last line.
            out.print("\033[" + up + "A\r\033[2K" + line + "\r\033[" + up + "B");
        }
        out.flush();
    }

    /** One blob's line: {@code <id>: <state> [====>    ]  1.5MB/3MB}. */
    static String format(ProgressEvent e, boolean withBar) {
        StringBuilder s = new StringBuilder(e.id()).append(": ").append(e.state().text());
        if (!e.detail().isEmpty()) {
            s.append(' ').append(e.detail());
        }
        if (withBar && e.state().inProgress() && e.total() > 0) {
            int filled = (int) Math.min(BAR_WIDTH, e.current() * BAR_WIDTH / e.total());
            s.append(" [").append("=".repeat(Math.max(0, filled - 1))).append(filled > 0 ? ">" : "")
                    .append(" ".repeat(BAR_WIDTH - filled)).append("] ")
                    .append(bytes(e.current())).append('/').append(bytes(e.total()));
        }
        return s.toString();
    }

    /** A size in Docker's units: B, kB, MB, GB (powers of 1000). */
    static String bytes(long n) {
        if (n < 1000) {
            return n + "B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = n;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.3g%s", v, units[u]);
    }
}
