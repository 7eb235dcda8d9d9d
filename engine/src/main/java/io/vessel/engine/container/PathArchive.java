package io.vessel.engine.container;

import io.vessel.image.archive.TarOutput;
import io.vessel.image.layer.LayerApplier;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Files in and out of a container's root file system as tar archives, for the Docker API's
 * {@code /containers/{id}/archive} (docker cp, Testcontainers' {@code copyFileToContainer} and
 * {@code copyFileFromContainer}). Every container path is resolved inside the root as the container
 * would resolve it ({@link RootPath}), so neither {@code ..} nor a link reaches the host's files;
 * extraction is {@link LayerApplier}'s, which refuses members that leave the target directory and
 * never follows links.
 *
 * <p>Archives written hold directories, regular files (a file with several links once, then hard
 * link members), and symbolic links; device nodes, FIFOs and sockets are left out, as are the
 * contents of proc, sysfs, cgroup and devpts mounts met on the way. Members are owned by root.
 */
public final class PathArchive {
    /** Go's {@code io/fs.FileMode} type bits, which Docker's path stat reports ({@code ModeDir} is 1<<31 ...). */
    static final long GO_MODE_DIR = 1L << 31;
    static final long GO_MODE_SYMLINK = 1L << 27;
    static final long GO_MODE_DEVICE = 1L << 26;
    static final long GO_MODE_NAMED_PIPE = 1L << 25;
    static final long GO_MODE_SOCKET = 1L << 24;
    static final long GO_MODE_SETUID = 1L << 23;
    static final long GO_MODE_SETGID = 1L << 22;
    static final long GO_MODE_CHAR_DEVICE = 1L << 21;
    static final long GO_MODE_STICKY = 1L << 20;
    /** st_mode's file type mask and types (sys/stat.h). */
    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000, S_IFLNK = 0120000, S_IFREG = 0100000,
            S_IFBLK = 060000, S_IFDIR = 040000, S_IFCHR = 020000, S_IFIFO = 010000;
    private static final int S_ISUID = 04000, S_ISGID = 02000, S_ISVTX = 01000, PERMISSIONS = 0777;
    /** File systems whose contents are the kernel's, not files: not walked into. */
    private static final Set<String> KERNEL_FS = Set.of("proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue");
    private static final String ATTRS = "unix:mode,size,lastModifiedTime,dev,ino,nlink";

    /**
     * What {@code HEAD /containers/{id}/archive} reports about a path (Docker's {@code PathStat}).
     *
     * @param name       the path's last component (its name in the archive)
     * @param size       its size in bytes
     * @param goMode     its mode as Go's {@code FileMode}: permissions and type bits
     * @param mtime      its modification time
     * @param linkTarget for a symbolic link, the container path it resolves to; else empty
     */
    public record PathStat(String name, long size, long goMode, Instant mtime, String linkTarget) {
    }

    /** A container path located in the root: the host path (not followed if a link) and its name in an archive. */
    private record Located(Path host, String name) {
    }

    private PathArchive() {
    }

    /** The stat of container path {@code path} under {@code root}; a missing path is a NoSuchFileException naming it. */
    public static PathStat stat(Path root, String path) throws IOException {
        Located l = locate(root, path);
        Map<String, Object> a = Files.readAttributes(l.host(), ATTRS, LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        String linkTarget = "";
        if ((mode & S_IFMT) == S_IFLNK) {
            linkTarget = "/" + root.relativize(RootPath.resolve(root, absolute(path)));
        }
        return new PathStat(l.name(), (Long) a.get("size"), goMode(mode),
                ((FileTime) a.get("lastModifiedTime")).toInstant(), linkTarget);
    }

    /**
     * Writes container path {@code path} under {@code root} to {@code out} as a tar archive (ended,
     * flushed, not closed). The path's last component names the top member; a trailing {@code /.}
     * names it {@code .}, so the archive unpacks as the directory's contents. A last component that
     * is a symbolic link is archived as the link unless the path ends in {@code /}.
     */
    public static void write(Path root, String path, OutputStream out) throws IOException {
        Located l = locate(root, path);
        TarOutput tar = new TarOutput(out);
        new Writer(tar).member(l.host(), l.name(), null);
        tar.finish();
    }

    /**
     * Unpacks {@code tar} into the existing directory {@code path} under {@code root}. A missing path
     * is a NoSuchFileException, one that is not a directory a NotDirectoryException, both naming it.
     * Member names are the client's files: {@code .wh.} names are not layer whiteouts. With
     * {@code noOverwriteDirNonDir} (docker cp sets it) a member that would replace a directory by a
     * non-directory, or the reverse, is refused.
     */
    public static void extract(Path root, String path, InputStream tar, boolean noOverwriteDirNonDir)
            throws IOException {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("the path to extract to is required");
        }
        Path dir = itself(root, RootPath.resolve(root, absolute(path)));
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(path, null, "no such directory");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new NotDirectoryException(path);
        }
        LayerApplier.apply(tar, dir, LayerApplier.Options.copy(noOverwriteDirNonDir));
    }

    private static String absolute(String path) {
        return path.startsWith("/") ? path : "/" + path;
    }

    private static Located locate(Path root, String path) throws IOException {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("the path in the container is required");
        }
        String p = absolute(path);
        boolean follow = p.endsWith("/") || p.endsWith("/.") || p.endsWith("/..");
        String trimmed = p.replaceAll("/+$", "");
        int slash = trimmed.lastIndexOf('/');
        String base = trimmed.substring(slash + 1);
        Path host;
        String name;
        if (base.isEmpty()) { // the root itself
            host = root;
            name = ".";
        } else if (follow) {
            host = RootPath.resolve(root, p);
            name = base.equals("..") ? (host.equals(root) ? "." : host.getFileName().toString()) : base;
        } else {
            host = RootPath.resolve(root, slash <= 0 ? "/" : trimmed.substring(0, slash)).resolve(base);
            name = base;
        }
        host = itself(root, host);
        if (!Files.exists(host, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(path, null, "no such file or directory");
        }
        if (p.endsWith("/") && !Files.isDirectory(host)) {
            throw new NotDirectoryException(path);
        }
        return new Located(host, name);
    }

    /**
     * {@code host}, or {@code root/.} when it is the root: a running container's root is the link
     * {@code /proc/PID/root}, which checks that follow no links must see as the directory it leads to.
     */
    private static Path itself(Path root, Path host) {
        return host.equals(root) ? root.resolve(".") : host;
    }

    private static long goMode(int mode) {
        long m = mode & PERMISSIONS;
        switch (mode & S_IFMT) {
            case S_IFDIR -> m |= GO_MODE_DIR;
            case S_IFLNK -> m |= GO_MODE_SYMLINK;
            case S_IFBLK -> m |= GO_MODE_DEVICE;
            case S_IFCHR -> m |= GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE;
            case S_IFIFO -> m |= GO_MODE_NAMED_PIPE;
            case S_IFSOCK -> m |= GO_MODE_SOCKET;
            default -> {
            }
        }
        if ((mode & S_ISUID) != 0) {
            m |= GO_MODE_SETUID;
        }
        if ((mode & S_ISGID) != 0) {
            m |= GO_MODE_SETGID;
        }
        if ((mode & S_ISVTX) != 0) {
            m |= GO_MODE_STICKY;
        }
        return m;
    }

    /** One archive's walk: the files with several links met so far, by (device, inode). */
    private static final class Writer {
        private final TarOutput tar;
        private final Map<List<Object>, String> linked = new HashMap<>();

        Writer(TarOutput tar) {
            this.tar = tar;
        }

        /** Writes {@code host} as member {@code name}; {@code parentDev} is its directory's device (null for the top). */
        void member(Path host, String name, Object parentDev) throws IOException {
            Map<String, Object> a;
            try {
                a = Files.readAttributes(host, ATTRS, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException goneMeanwhile) {
                if (parentDev == null) {
                    throw goneMeanwhile;
                }
                return; // the container removed it while it was archived
            }
            int mode = (Integer) a.get("mode");
            long mtime = ((FileTime) a.get("lastModifiedTime")).toInstant().getEpochSecond();
            int perms = mode & (PERMISSIONS | S_ISUID | S_ISGID | S_ISVTX);
            switch (mode & S_IFMT) {
                case S_IFLNK -> tar.symlink(name, Files.readSymbolicLink(host).toString(), mtime);
                case S_IFDIR -> {
                    tar.directory(name, perms, mtime);
                    Object dev = a.get("dev");
                    if (parentDev != null && !dev.equals(parentDev)
                            && KERNEL_FS.contains(Files.getFileStore(host).type())) {
                        return;
                    }
                    List<String> children = new ArrayList<>();
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(host)) {
                        for (Path c : s) {
                            children.add(c.getFileName().toString());
                        }
                    }
                    children.sort(null);
                    for (String c : children) {
                        member(host.resolve(c), name + "/" + c, dev);
                    }
                }
                case S_IFREG -> regular(host, name, a, perms, mtime);
                default -> {
                    // devices, FIFOs and sockets are not archived
                }
            }
        }

        private void regular(Path host, String name, Map<String, Object> a, int perms, long mtime) throws IOException {
            if ((Integer) a.get("nlink") > 1) {
                List<Object> key = List.of(a.get("dev"), a.get("ino"));
                String first = linked.putIfAbsent(key, name);
                if (first != null) {
                    tar.hardlink(name, first, mtime);
                    return;
                }
            }
            long size = (Long) a.get("size");
            try (InputStream in = Files.newInputStream(host, LinkOption.NOFOLLOW_LINKS)) {
                // A file the container appends to meanwhile is archived as long as it was when stat'ed.
                tar.file(name, perms, mtime, size, new Bounded(in, size));
            }
        }
    }

    /** At most {@code limit} bytes of a stream: a growing file is cut where its header said it ends. */
    private static final class Bounded extends InputStream {
        private final InputStream in;
        private long left;

        Bounded(InputStream in, long limit) {
            this.in = in;
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }
}
