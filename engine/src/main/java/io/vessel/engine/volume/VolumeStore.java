package io.vessel.engine.volume;

import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;
import io.vessel.linux.MountTable;
import io.vessel.runtime.spec.MountOption;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * Named and anonymous volumes, Docker's {@code local} driver: {@code <root>/volumes/<name>/_data}
 * holds the data and {@code volume.json} the rest ({@link Volume}), written by rename so a crash
 * leaves the old or the new file, never half of one. The store records which containers use each
 * volume, so that {@link #remove} and {@link #prune} never delete data a container has mounted.
 *
 * <p>Every operation holds a lock: a {@code flock} on {@code volumes/.lock} between processes and a
 * lock per store directory within this JVM. Volumes are made in {@code volumes/.tmp} and renamed
 * into place, and removed by renaming them there first; {@link #open} clears what a crash left.
 */
public final class VolumeStore {
    /** Docker's local volume names. */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]+");
    /** The local driver's options (Docker's {@code --opt}). */
    private static final Set<String> DRIVER_OPTIONS = Set.of("type", "device", "o");
    private static final String DATA = "_data";
    private static final String META = "volume.json";
    private static final Map<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final ReentrantLock jvmLock;

    private VolumeStore(Path dir) {
        this.dir = dir;
        this.jvmLock = JVM_LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
    }

    /** Opens (creating it if needed) the store under {@code root}/volumes and clears interrupted work. */
    public static VolumeStore open(Path root) throws IOException {
        Path dir = root.toAbsolutePath().normalize().resolve("volumes");
        Files.createDirectories(dir.resolve(".tmp"));
        VolumeStore store = new VolumeStore(dir);
        store.locked(() -> {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve(".tmp"))) {
                for (Path p : ds) {
                    FileTrees.remove(p);
                }
            }
            return null;
        });
        return store;
    }

    /** The directory all volumes live in. */
    public Path directory() {
        return dir;
    }

    /**
     * Creates a volume, or returns the existing one of that name (Docker's {@code volume create}
     * is idempotent). A null name makes an anonymous volume with a random 64-hex-digit name.
     *
     * @param labels     user metadata
     * @param driverOpts the local driver's {@code type}, {@code device} and {@code o}
     */
    public Volume create(String name, Map<String, String> labels, Map<String, String> driverOpts) throws IOException {
        boolean anonymous = name == null;
        String n = anonymous ? HexFormat.of().formatHex(randomBytes(32)) : checkName(name);
        Map<String, String> opts = checkOptions(n, driverOpts);
        return locked(() -> {
            Volume existing = read(n);
            if (existing != null) {
                return existing;
            }
            Path tmp = dir.resolve(".tmp").resolve("create-" + HexFormat.of().formatHex(randomBytes(8)));
            Files.createDirectories(tmp.resolve(DATA));
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            Volume v = new Volume(n, Volume.LOCAL, labels, opts, Instant.now().toString(), anonymous, List.of(),
                    dir.resolve(n).resolve(DATA));
            writeMeta(tmp, v);
            try {
                Files.move(tmp, dir.resolve(n), StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                FileTrees.remove(tmp);
                throw new VolumeException(VolumeException.Kind.CONFLICT, "volume " + n
                        + ": the directory " + dir.resolve(n) + " exists but has no readable " + META);
            }
            syncDir(dir);
            return v;
        });
    }

    /** The volume of that name. */
    public Volume inspect(String name) throws IOException {
        String n = checkName(name);
        return locked(() -> require(n));
    }

    /** Which volumes {@link #list} returns; empty lists and a null {@code dangling} select all. */
    public record Filter(List<String> names, List<String> labels, Boolean dangling) {
        public static final Filter ALL = new Filter(List.of(), List.of(), null);

        public Filter {
            names = List.copyOf(names);
            labels = List.copyOf(labels);
        }

        /**
         * Docker's semantics: a volume matches when its name contains any of {@code names}, it has
         * every one of {@code labels} ({@code key} or {@code key=value}), and, if {@code dangling}
         * is set, it is unused (true) or used (false).
         */
        public boolean matches(Volume v) {
            if (!names.isEmpty() && names.stream().noneMatch(v.name()::contains)) {
                return false;
            }
            for (String l : labels) {
                int eq = l.indexOf('=');
                String key = eq < 0 ? l : l.substring(0, eq);
                if (!v.labels().containsKey(key) || (eq >= 0 && !v.labels().get(key).equals(l.substring(eq + 1)))) {
                    return false;
                }
            }
            return dangling == null || dangling != v.inUse();
        }
    }

    /** The volumes that match, by name. */
    public List<Volume> list(Filter filter) throws IOException {
        return locked(() -> {
            List<Volume> out = new ArrayList<>();
            for (String n : names()) {
                Volume v = read(n);
                if (v != null && filter.matches(v)) {
                    out.add(v);
                }
            }
            return out;
        });
    }

    /**
     * Removes a volume and its data. Refused while a container uses it unless {@code force};
     * a missing volume is an error unless {@code force} (as {@code docker volume rm -f}).
     */
    public void remove(String name, boolean force) throws IOException {
        String n = checkName(name);
        locked(() -> {
            Volume v = read(n);
            if (v == null) {
                if (force) {
                    return null;
                }
                throw notFound(n);
            }
            if (v.inUse() && !force) {
                throw new VolumeException(VolumeException.Kind.IN_USE, "volume " + n
                        + " is in use by container(s) " + String.join(", ", v.users()));
            }
            delete(v);
            return null;
        });
    }

    /** What {@link #prune} removed and how many bytes of data that freed. */
    public record PruneReport(List<String> removed, long spaceReclaimed) {
        public PruneReport {
            removed = List.copyOf(removed);
        }
    }

    /**
     * Removes unused volumes: anonymous ones only, or all of them with {@code all} (Docker 23+'s
     * {@code volume prune} and {@code --all}); also only those matching {@code filter}.
     */
    public PruneReport prune(boolean all, Filter filter) throws IOException {
        return locked(() -> {
            List<String> removed = new ArrayList<>();
            long bytes = 0;
            for (String n : names()) {
                Volume v = read(n);
                if (v == null || v.inUse() || (!all && !v.anonymous()) || !filter.matches(v)) {
                    continue;
                }
                bytes += size(v.mountpoint());
                delete(v);
                removed.add(n);
            }
            return new PruneReport(removed, bytes);
        });
    }

    /**
     * Records that {@code containerId} uses the volume (idempotent); the first user mounts a
     * volume whose driver options name a file system. Returns the volume as now stored.
     */
    public Volume acquire(String name, String containerId) throws IOException {
        String n = checkName(name);
        return locked(() -> {
            Volume v = require(n);
            if (v.users().contains(containerId)) {
                return v;
            }
            if (!v.inUse() && v.mountsFileSystem()) {
                mountFileSystem(v);
            }
            List<String> users = new ArrayList<>(v.users());
            users.add(containerId);
            Volume updated = v.withUsers(users);
            writeMeta(dir.resolve(n), updated);
            return updated;
        });
    }

    /** Records that {@code containerId} no longer uses the volume; the last user's release unmounts it. */
    public Volume release(String name, String containerId) throws IOException {
        String n = checkName(name);
        return locked(() -> {
            Volume v = read(n);
            if (v == null || !v.users().contains(containerId)) {
                return v;
            }
            List<String> users = new ArrayList<>(v.users());
            users.remove(containerId);
            Volume updated = v.withUsers(users);
            if (!updated.inUse() && v.mountsFileSystem()) {
                unmountFileSystem(v);
            }
            writeMeta(dir.resolve(n), updated);
            return updated;
        });
    }

    /** Releases every volume {@code containerId} uses (when the container is removed); returns their names. */
    public List<String> releaseAll(String containerId) throws IOException {
        return releaseAll(containerId, false);
    }

    /**
     * Releases every volume {@code containerId} uses; with {@code removeAnonymous} (Docker's
     * {@code rm -v} and {@code run --rm}) also removes the anonymous ones nobody else uses.
     * Returns the names released.
     */
    public List<String> releaseAll(String containerId, boolean removeAnonymous) throws IOException {
        return locked(() -> {
            List<String> released = new ArrayList<>();
            for (String n : names()) {
                Volume v = read(n);
                if (v != null && v.users().contains(containerId)) {
                    Volume after = release(n, containerId);
                    released.add(n);
                    if (removeAnonymous && after.anonymous() && !after.inUse()) {
                        delete(after);
                    }
                }
            }
            return released;
        });
    }

    /** Checks a volume name as Docker's local driver does; returns it. */
    public static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new VolumeException(VolumeException.Kind.INVALID, "\"" + name + "\" includes invalid characters for "
                    + "a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed (at least two characters)."
                    + " If you intended to pass a host directory, use an absolute path");
        }
        return name;
    }

    private static Map<String, String> checkOptions(String name, Map<String, String> opts) {
        for (String k : opts.keySet()) {
            if (!DRIVER_OPTIONS.contains(k)) {
                throw new VolumeException(VolumeException.Kind.INVALID, "volume " + name + ": invalid option \"" + k
                        + "\" for the local driver (known: type, device, o)");
            }
        }
        Map<String, String> out = new LinkedHashMap<>(opts);
        if (out.containsKey("type") || out.containsKey("device") || out.containsKey("o")) {
            if ("tmpfs".equals(out.get("type"))) {
                out.putIfAbsent("device", "tmpfs");
            }
            if (!out.containsKey("type") || !out.containsKey("device")) {
                throw new VolumeException(VolumeException.Kind.INVALID, "volume " + name
                        + ": the local driver needs both type and device to mount a file system (got " + opts + ")");
            }
            try {
                MountOption.parse(splitOptions(out.getOrDefault("o", "")));
            } catch (IllegalArgumentException e) {
                throw new VolumeException(VolumeException.Kind.INVALID, "volume " + name + ": o: " + e.getMessage());
            }
        }
        return out;
    }

    private static List<String> splitOptions(String o) {
        List<String> out = new ArrayList<>();
        for (String s : o.split(",")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    private void mountFileSystem(Volume v) throws IOException {
        MountOption.Parsed p = MountOption.parse(splitOptions(v.options().getOrDefault("o", "")));
        String type = v.options().get("type");
        try {
            Mount.mount(v.options().get("device"), v.mountpoint().toString(), type.equals("none") ? "" : type,
                    p.flags(), p.data());
        } catch (ErrnoException e) {
            throw new VolumeException(VolumeException.Kind.IO, "volume " + v.name() + ": cannot mount "
                    + v.options() + " on " + v.mountpoint() + ": " + e.getMessage(), e);
        }
    }

    private void unmountFileSystem(Volume v) throws IOException {
        if (!mounted(v.mountpoint())) {
            return;
        }
        try {
            Mount.umount(v.mountpoint().toString(), Mount.MNT_DETACH);
        } catch (ErrnoException e) {
            throw new VolumeException(VolumeException.Kind.IO, "volume " + v.name() + ": cannot unmount "
                    + v.mountpoint() + ": " + e.getMessage(), e);
        }
    }

    /** Whether a mount point of this mount namespace is exactly {@code path}. */
    static boolean mounted(Path path) throws IOException {
        return MountTable.isMountPoint(path);
    }

    private void delete(Volume v) throws IOException {
        if (v.mountsFileSystem()) {
            unmountFileSystem(v);
        }
        if (mounted(v.mountpoint())) {
            throw new VolumeException(VolumeException.Kind.IN_USE, "volume " + v.name() + ": " + v.mountpoint()
                    + " is still a mount point; not removing it");
        }
        Path gone = dir.resolve(".tmp").resolve("remove-" + HexFormat.of().formatHex(randomBytes(8)));
        Files.move(dir.resolve(v.name()), gone, StandardCopyOption.ATOMIC_MOVE);
        syncDir(dir);
        FileTrees.remove(gone);
    }

    private List<String> names() throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (NAME.matcher(n).matches() && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.add(n);
                }
            }
        }
        out.sort(null);
        return out;
    }

    private Volume require(String name) throws IOException {
        Volume v = read(name);
        if (v == null) {
            throw notFound(name);
        }
        return v;
    }

    private static VolumeException notFound(String name) {
        return new VolumeException(VolumeException.Kind.NOT_FOUND, "no such volume: " + name);
    }

    /** The stored volume, or null if there is none of that name. */
    private Volume read(String name) throws IOException {
        Path meta = dir.resolve(name).resolve(META);
        String text;
        try {
            text = Files.readString(meta);
        } catch (NoSuchFileException e) {
            if (Files.exists(dir.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
                throw new VolumeException(VolumeException.Kind.CONFLICT, "volume " + name + ": " + meta
                        + " is missing");
            }
            return null;
        }
        try {
            Volume v = Volume.fromJson(JsonNode.parse(meta.toString(), text), dir.resolve(name).resolve(DATA));
            if (!v.name().equals(name)) {
                throw new VolumeException(VolumeException.Kind.CONFLICT, meta + ": name is \"" + v.name()
                        + "\" but the directory is " + name);
            }
            return v;
        } catch (JsonException e) {
            throw new VolumeException(VolumeException.Kind.IO, "volume " + name + ": " + e.getMessage(), e);
        }
    }

    /** Writes volume.json by temp file, fsync and rename, then syncs the directory. */
    private static void writeMeta(Path volumeDir, Volume v) throws IOException {
        Path tmp = volumeDir.resolve(META + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(Json.writePretty(v.toJson()).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            ch.force(true);
        }
        try {
            Files.move(tmp, volumeDir.resolve(META), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + tmp + " into place atomically", e);
        }
        syncDir(volumeDir);
    }

    private static void syncDir(Path d) throws IOException {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Bytes of data in the volume, as {@code docker system df} reports it ({@code UsageData.Size}). */
    public long dataSize(Volume v) throws IOException {
        return size(v.mountpoint());
    }

    /** Bytes of the regular files under {@code data}, each inode counted once. */
    static long size(Path data) throws IOException {
        long[] total = {0};
        Set<Object> seen = new HashSet<>();
        if (!Files.isDirectory(data, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        Files.walkFileTree(data, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes a) {
                if (a.isRegularFile() && seen.add(a.fileKey())) {
                    total[0] += a.size();
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    private interface Action<T> {
        T run() throws IOException;
    }

    private <T> T locked(Action<T> action) throws IOException {
        jvmLock.lock();
        try {
            if (jvmLock.getHoldCount() > 1) {
                return action.run(); // nested: this thread holds the file lock already
            }
            try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
                return action.run();
            }
        } finally {
            jvmLock.unlock();
        }
    }
}
