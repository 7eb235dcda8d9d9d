package io.vessel.engine.container;

import io.vessel.json.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Reads a container's log as the monitor writes it: Docker's json-file format, one entry per line
 * ({@code {"log":"…\n","stream":"stdout","time":"RFC3339Nano"}}), rotated into {@code LOG.1},
 * {@code LOG.2}… (older ones higher). Entries are handed out one by one, oldest first, so that a
 * caller can frame them for a client; following waits for new entries while the container runs.
 */
public final class JsonFileLog {
    /** How often a follower looks for new entries: short enough to feel live, long enough to idle. */
    private static final Duration FOLLOW_POLL = Duration.ofMillis(100);

    private JsonFileLog() {
    }

    /** One log entry: the stream ("stdout" or "stderr"), when it was written, its bytes. */
    public record Entry(String stream, Instant time, byte[] data) {
    }

    /**
     * What to read (docker logs' options).
     *
     * @param tail  the last N entries of those selected, or -1 for all
     * @param since entries at or after this instant, or null
     * @param until entries before this instant, or null
     */
    public record Query(boolean stdout, boolean stderr, int tail, Instant since, Instant until, boolean follow) {
        public static final Query ALL = new Query(true, true, -1, null, null, false);

        public Query {
            if (!stdout && !stderr) {
                throw new IllegalArgumentException("you must choose at least one stream (stdout or stderr)");
            }
        }

        boolean selects(Entry e) {
            return (e.stream().equals("stderr") ? stderr : stdout)
                    && (since == null || !e.time().isBefore(since)) && (until == null || e.time().isBefore(until));
        }
    }

    /** Receives entries; returns false to stop reading (the client went away). */
    public interface Sink {
        boolean accept(Entry e) throws IOException;
    }

    /** The log's files, oldest first: {@code LOG.N} … {@code LOG.1}, {@code LOG}. */
    public static List<Path> files(Path log) {
        List<Path> rotated = new ArrayList<>();
        for (int i = 1; Files.exists(log.resolveSibling(log.getFileName() + "." + i)); i++) {
            rotated.addFirst(log.resolveSibling(log.getFileName() + "." + i));
        }
        rotated.add(log);
        return rotated;
    }

    /**
     * Reads the log. With {@code follow}, goes on until {@code running} says the container is no
     * longer running and nothing new is left, or the sink stops; rotation while following is seen
     * by the current file being replaced.
     */
    public static void read(Path log, Query q, Sink sink, BooleanSupplier running) throws IOException {
        List<Path> files = files(log);
        ArrayDeque<Entry> tail = q.tail() >= 0 ? new ArrayDeque<>() : null;
        long position = 0;
        Object currentKey = null;
        for (Path f : files) {
            boolean current = f.equals(log);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                if (current) {
                    currentKey = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
                }
                long end = readEntries(ch, 0, f, e -> {
                    if (!q.selects(e)) {
                        return true;
                    }
                    if (tail == null) {
                        return sink.accept(e);
                    }
                    if (q.tail() > 0) {
                        if (tail.size() == q.tail()) {
                            tail.removeFirst();
                        }
                        tail.addLast(e);
                    }
                    return true;
                });
                if (end < 0) {
                    return;
                }
                if (current) {
                    position = end;
                }
            } catch (NoSuchFileException gone) {
                // rotated away between listing and opening: its entries moved to an older file we read
            }
        }
        if (tail != null) {
            for (Entry e : tail) {
                if (!sink.accept(e)) {
                    return;
                }
            }
        }
        if (!q.follow()) {
            return;
        }
        Sink live = e -> !q.selects(e) || sink.accept(e);
        while (true) {
            boolean wasRunning = running.getAsBoolean();
            Object key = null;
            try {
                key = Files.readAttributes(log, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            } catch (NoSuchFileException ignored) {
                // between rotation's rename and the new file's creation
            }
            if (key != null && !key.equals(currentKey)) {
                // Rotated: what is left in the old file is now LOG.1 (or, with one file, truncated away).
                Path older = log.resolveSibling(log.getFileName() + ".1");
                if (currentKey != null && Files.exists(older)) {
                    try (FileChannel ch = FileChannel.open(older, StandardOpenOption.READ)) {
                        if (readEntries(ch, position, older, live) < 0) {
                            return;
                        }
                    }
                }
                currentKey = key;
                position = 0;
            }
            if (key != null) {
                try (FileChannel ch = FileChannel.open(log, StandardOpenOption.READ)) {
                    if (ch.size() < position) {
                        position = 0; // truncated in place (max-file 1)
                    }
                    long end = readEntries(ch, position, log, live);
                    if (end < 0) {
                        return;
                    }
                    position = end;
                } catch (NoSuchFileException ignored) {
                    // next round
                }
            }
            if (!wasRunning) {
                return; // it had stopped before this last read: nothing more will come
            }
            try {
                Thread.sleep(FOLLOW_POLL);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Reads whole lines from {@code from}; returns where the last whole line ended, or -1 if the sink stopped. */
    private static long readEntries(FileChannel ch, long from, Path name, Sink sink) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        long pos = from;
        long lineStart = from;
        while (true) {
            buf.clear();
            int n = ch.read(buf, pos);
            if (n <= 0) {
                return lineStart; // a partial last line is read again next time
            }
            buf.flip();
            for (int i = 0; i < n; i++) {
                byte b = buf.get(i);
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                long end = pos + i + 1;
                Entry e = parse(name, lineStart, line.toString(StandardCharsets.UTF_8));
                line.reset();
                lineStart = end;
                if (e != null && !sink.accept(e)) {
                    return -1;
                }
            }
            pos += n;
        }
    }

    private static Entry parse(Path name, long offset, String text) {
        if (text.isBlank()) {
            return null;
        }
        try {
            JsonNode n = JsonNode.parse(name + " at byte " + offset, text);
            return new Entry(n.get("stream").string(), Instant.parse(n.get("time").string()),
                    n.get("log").string().getBytes(StandardCharsets.UTF_8));
        } catch (RuntimeException damaged) {
            return null; // a damaged line (a crash mid-write) is skipped, as Docker does
        }
    }
}
