package io.vessel.runtime.cgroup;

import io.vessel.linux.Errno;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One cgroup directory and its interface files: every write is a single write(2), as the kernel
 * takes each write to a cgroup file as one command, and every error names the file and the value.
 */
record CgroupDir(Path path) {

    /** "max" in v2 files, and as unsigned 64-bit all ones: what {@link Stats} stores for "no limit". */
    static final long UNLIMITED = -1L;
    /** How long rmdir keeps retrying while the kernel still counts exiting processes. */
    static final Duration RMDIR_PATIENCE = Duration.ofSeconds(1);
    /** Longest pause between two rmdir attempts: the retries start at 1 ms and double up to this. */
    private static final long MAX_RETRY_SLEEP_MILLIS = 20;

    Path file(String name) {
        return path.resolve(name);
    }

    boolean has(String name) {
        return java.nio.file.Files.exists(file(name));
    }

    /**
     * Writes {@code value} to interface file {@code name} in one write(2). Plain JDK I/O, not FFM:
     * this runs in every short-lived runtime command, where linking a downcall costs more than
     * the whole write. The JDK reports strerror text; the errno is recovered from it.
     */
    void write(String name, String value) throws CgroupException {
        Path f = file(name);
        try (java.io.FileOutputStream out = new java.io.FileOutputStream(f.toFile(), false)) {
            out.write(value.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            int errno = e instanceof java.io.FileNotFoundException && !java.nio.file.Files.exists(f) ? Errno.ENOENT
                    : Errno.fromMessage(e.getMessage());
            throw new CgroupException("cgroup: writing " + value + " to " + f + ": "
                    + (errno != 0 ? describe(errno) : e.getMessage()), errno);
        }
    }

    void write(String name, long value) throws CgroupException {
        write(name, Long.toString(value));
    }

    /** The file's whole text, trimmed. */
    String read(String name) throws CgroupException {
        Path f = file(name);
        try {
            return java.nio.file.Files.readString(f, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            throw new CgroupException("cgroup: reading " + f + ": " + describe(Errno.ENOENT), Errno.ENOENT);
        } catch (IOException e) {
            throw new CgroupException("cgroup: reading " + f + ": " + reason(e));
        }
    }

    /** The file's text, or "" when it does not exist (an absent controller or an older kernel). */
    String readIfPresent(String name) throws CgroupException {
        return has(name) ? read(name) : "";
    }

    /** The file's non-empty lines; none when it does not exist. */
    List<String> lines(String name) throws CgroupException {
        List<String> out = new ArrayList<>();
        for (String line : readIfPresent(name).split("\n")) {
            if (!line.isBlank()) {
                out.add(line.strip());
            }
        }
        return out;
    }

    /** A single unsigned number ("max" reads as {@link #UNLIMITED}); 0 when the file does not exist. */
    long number(String name) throws CgroupException {
        String text = readIfPresent(name);
        return text.isEmpty() ? 0 : parse(file(name), text);
    }

    /** A flat-keyed file ("key value" per line, e.g. memory.stat or cgroup.events); empty when absent. */
    Map<String, Long> keyed(String name) throws CgroupException {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String line : lines(name)) {
            String[] kv = line.split("\\s+");
            if (kv.length == 2) {
                out.put(kv[0], parse(file(name), kv[1]));
            }
        }
        return out;
    }

    /** mkdir(2) of this directory; one that exists already is fine. */
    void mkdir() throws CgroupException {
        try {
            java.nio.file.Files.createDirectory(path);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // created before, by us or by whoever prepared the parent
        } catch (IOException e) {
            throw new CgroupException("cgroup: creating " + path + ": " + reason(e));
        }
    }

    /** mkdir -p of this directory. */
    void mkdirs() throws CgroupException {
        try {
            java.nio.file.Files.createDirectories(path);
        } catch (IOException e) {
            throw new CgroupException("cgroup: creating " + path + ": " + reason(e));
        }
    }

    /**
     * Removes this cgroup and every cgroup below it, deepest first. The kernel refuses (EBUSY) while
     * a just-killed process has not left yet, so each rmdir is retried with short sleeps for up to
     * {@link #RMDIR_PATIENCE}; a directory that is already gone is fine.
     */
    void removeTree() throws CgroupException {
        removeRecursively(path);
    }

    /** rmdir first (the usual case: no child cgroups); only when that fails, the children, then retries. */
    private static void removeRecursively(Path dir) throws CgroupException {
        try {
            java.nio.file.Files.delete(dir);
            return;
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            // ENOTEMPTY: child cgroups go first; EBUSY: retried below
        }
        java.io.File[] children = dir.toFile().listFiles(java.io.File::isDirectory);
        if (children != null) {
            for (java.io.File child : children) {
                removeRecursively(child.toPath());
            }
        }
        rmdir(dir);
    }

    private static void rmdir(Path dir) throws CgroupException {
        long deadline = System.nanoTime() + RMDIR_PATIENCE.toNanos();
        long sleepMillis = 1;
        while (true) {
            try {
                java.nio.file.Files.delete(dir);
                return;
            } catch (NoSuchFileException e) {
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new CgroupException("cgroup: removing " + dir + ": " + reason(e));
                }
            }
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CgroupException("cgroup: removing " + dir + ": interrupted");
            }
            sleepMillis = Math.min(sleepMillis * 2, MAX_RETRY_SLEEP_MILLIS);
        }
    }

    /** strerror's text, or the errno's name where the table has no text for it. */
    static String describe(int errno) {
        String text = Errno.describe(errno);
        return text.equals(Errno.describe(0)) ? text + " (" + Errno.name(errno) + ")" : text;
    }

    /** strerror-style text for the JDK's file exceptions, which carry the reason only sometimes. */
    private static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return describe(Errno.EACCES) + " (vessel-runtime runs as root)";
        }
        if (e instanceof NoSuchFileException) {
            return describe(Errno.ENOENT);
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException) {
            return describe(Errno.EEXIST);
        }
        if (e instanceof java.nio.file.DirectoryNotEmptyException) {
            return describe(Errno.ENOTEMPTY);
        }
        int errno = Errno.fromMessage(e.getMessage());
        return errno != 0 ? describe(errno) : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
    }

    /** A file of space-separated words, such as cgroup.controllers; none when absent. */
    Set<String> words(String name) throws CgroupException {
        Set<String> out = new LinkedHashSet<>();
        for (String w : readIfPresent(name).split("\\s+")) {
            if (!w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    /** The pids in this cgroup and every cgroup below it. */
    List<Integer> procsRecursive() throws CgroupException {
        List<Integer> out = new ArrayList<>();
        if (!java.nio.file.Files.isDirectory(path)) {
            return out;
        }
        List<Path> dirs;
        try (var walk = java.nio.file.Files.walk(path)) {
            dirs = walk.filter(java.nio.file.Files::isDirectory).toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new CgroupException("cgroup: listing " + path + ": " + e.getMessage());
        }
        for (Path d : dirs) {
            try {
                out.addAll(new CgroupDir(d).procs());
            } catch (CgroupException e) {
                if (java.nio.file.Files.isDirectory(d)) {
                    throw e;
                }
                // removed while we walked: it had no processes left
            }
        }
        return out;
    }

    /** The pids in this cgroup's own cgroup.procs (not its children's). */
    List<Integer> procs() throws CgroupException {
        List<Integer> out = new ArrayList<>();
        for (String line : lines("cgroup.procs")) {
            out.add(Integer.parseInt(line));
        }
        return out;
    }

    static long parse(Path file, String text) throws CgroupException {
        if (text.equals("max")) {
            return UNLIMITED;
        }
        try {
            return text.startsWith("-") ? Long.parseLong(text) : Long.parseUnsignedLong(text);
        } catch (NumberFormatException e) {
            throw new CgroupException("cgroup: " + file + ": not a number: \"" + text + "\"");
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
