package io.vessel.vmm.guest;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A serial console sink for tests that wait for a guest's milestones: keeps everything written
 * (optionally echoing it), and lets a test wait, bounded, until every one of some patterns has
 * matched a line.
 */
final class ConsoleWatch extends OutputStream {
    private final StringBuilder text = new StringBuilder();
    private final PrintStream echo;

    ConsoleWatch(PrintStream echo) {
        this.echo = echo;
    }

    @Override
    public synchronized void write(int b) {
        text.append((char) (b & 0xFF));
        if (echo != null) {
            echo.write(b);
        }
        notifyAll();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        text.append(new String(b, off, len, StandardCharsets.ISO_8859_1));
        if (echo != null) {
            echo.write(b, off, len);
        }
        notifyAll();
    }

    synchronized String text() {
        return text.toString();
    }

    /** The patterns that match no line so far. */
    synchronized List<Pattern> missing(List<Pattern> patterns) {
        String all = text.toString();
        return patterns.stream().filter(p -> !p.matcher(all).find()).toList();
    }

    /**
     * Waits until every pattern has matched (in MULTILINE mode, so ^ and $ are line bounds) or
     * {@code timeout} has passed, or {@code stop} says the guest has ended; the patterns still missing.
     */
    synchronized List<Pattern> await(List<Pattern> patterns, Duration timeout, java.util.function.BooleanSupplier stop)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Pattern> left = missing(patterns);
            long wait = (deadline - System.nanoTime()) / 1_000_000;
            if (left.isEmpty() || wait <= 0 || stop.getAsBoolean()) {
                return left;
            }
            wait(Math.min(wait, 500));
        }
    }
}
