package io.vessel.image.layer;

import io.vessel.image.Digest;
import io.vessel.image.Digester;
import io.vessel.image.DigestingInputStream;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.FileTrees;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Applies one image layer (a tar: plain, gzip or zstd, told by its first bytes rather than a media type, so
 * that docker save's {@code layer.tar} and mislabelled blobs apply too) into a directory in the form overlayfs
 * reads as a lower layer: OCI whiteouts become 0:0 character devices and opaque markers the
 * {@code trusted.overlay.opaque} xattr. Refuses entries that would write outside the directory
 * (absolute names, {@code ..}, hard links leaving it, paths through symlinks); never follows symlinks.
 * Needs root for ownership, device nodes and trusted xattrs.
 */
public final class LayerApplier {
    /** What an apply did: the layer's diff_id (sha256 of the uncompressed tar) and its member count. */
    public record Applied(Digest diffId, long entries) {
    }

    /**
     * How members meet what the directory already holds.
     *
     * @param whiteouts             OCI whiteout names ({@code .wh.NAME}, {@code .wh..wh..opq}) delete and mark
     *                              opaque, as in an image layer; else they are ordinary names (docker cp, where a
     *                              file called {@code .wh.x} is just that and must not delete {@code x})
     * @param replaceDirNonDir      a member may replace an existing directory by a non-directory, or a
     *                              non-directory by a directory; else such a member is refused (the Docker API's
     *                              {@code noOverwriteDirNonDir}, which docker cp sets)
     */
    public record Options(boolean whiteouts, boolean replaceDirNonDir) {
        /** An image layer: whiteouts apply, anything may be replaced. */
        public static final Options LAYER = new Options(true, true);

        /** Content copied into a container (docker cp): no whiteouts; {@code noOverwriteDirNonDir} as asked. */
        public static Options copy(boolean noOverwriteDirNonDir) {
            return new Options(false, !noOverwriteDirNonDir);
        }
    }

    /** gzip member magic (RFC 1952, ID1 ID2). */
    private static final byte[] GZIP_MAGIC = {0x1f, (byte) 0x8b};
    /** Zstandard frame magic 0xFD2FB528, little-endian (RFC 8878, 3.1.1). */
    private static final byte[] ZSTD_MAGIC = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
    /** OCI image spec, layer.md "Whiteouts": a file's whiteout is its name with this prefix. */
    static final String WHITEOUT_PREFIX = ".wh.";
    /** OCI image spec, layer.md "Opaque Whiteout": this entry makes its directory opaque. */
    static final String OPAQUE_WHITEOUT = ".wh..wh..opq";
    /** overlayfs (Documentation/filesystems/overlayfs.rst): a lower directory with this xattr = "y" hides those below. */
    static final String OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";
    private static final int PERMISSIONS = 07777;

    private LayerApplier() {
    }

    /** Applies {@code layer} into the existing directory {@code dir}; closes neither. */
    public static Applied apply(InputStream layer, Path dir) throws IOException {
        return apply(layer, dir, Options.LAYER);
    }

    /**
     * Applies {@code layer} into the existing directory {@code dir} as {@code options} say; closes
     * neither. Whatever the options, an existing entry is never replaced when that would remove
     * something mounted below it (a container's volume or bind mount: the host's files).
     */
    public static Applied apply(InputStream layer, Path dir, Options options) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        // The target itself may be reached through a link (a running container's /proc/PID/root, for
        // docker cp); what the members name is never followed.
        if (!Files.isDirectory(root)) {
            throw new IOException("layer: apply target " + root + " is not a directory");
        }
        Digester digester = Digester.sha256();
        InputStream tar = new DigestingInputStream(decompressed(layer), digester);
        TarReader reader = new TarReader(tar);
        Applier applier = new Applier(root, reader, options);
        long count = 0;
        for (TarEntry e; (e = reader.next()) != null; ) {
            applier.apply(e);
            count++;
        }
        reader.drain();
        applier.finish();
        return new Applied(digester.digest(), count);
    }

    private static InputStream decompressed(InputStream layer) throws IOException {
        BufferedInputStream in = new BufferedInputStream(layer, 65536);
        in.mark(ZSTD_MAGIC.length);
        byte[] head = in.readNBytes(ZSTD_MAGIC.length);
        in.reset();
        if (startsWith(head, GZIP_MAGIC)) {
            return new GZIPInputStream(in, 65536);
        }
        if (startsWith(head, ZSTD_MAGIC)) {
            return new ZstdStream(in);
        }
        return in;
    }

    private static boolean startsWith(byte[] data, byte[] prefix) {
        return data.length >= prefix.length && java.util.Arrays.equals(data, 0, prefix.length, prefix, 0, prefix.length);
    }

    /** airlift's zstd decoder, whose malformed-input errors (unchecked) become {@link LayerException}s. */
    private static final class ZstdStream extends FilterInputStream {
        ZstdStream(InputStream compressed) {
            super(new io.airlift.compress.zstd.ZstdInputStream(compressed));
        }

        @Override
        public int read() throws IOException {
            try {
                return in.read();
            } catch (RuntimeException e) {
                throw corrupt(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (RuntimeException e) {
                throw corrupt(e);
            }
        }

        private static LayerException corrupt(RuntimeException e) {
            return new LayerException("layer: corrupt zstd stream: " + e.getMessage(), e);
        }
    }

    /** The per-apply state: the root and the directory times to set once nothing more is written in them. */
    private static final class Applier {
        private final Path root;
        private final TarReader reader;
        private final Options options;
        private final List<Runnable> dirTimes = new ArrayList<>();
        private IOException deferred;

        Applier(Path root, TarReader reader, Options options) {
            this.root = root;
            this.reader = reader;
            this.options = options;
        }

        void apply(TarEntry e) throws IOException {
            List<String> parts = components(e, e.name());
            if (parts.isEmpty()) {
                if (e.type() != TarEntry.Type.DIRECTORY) {
                    throw refuse(e, "names the layer directory itself but is not a directory");
                }
                metadata(e, root.resolve(".")); // "dir/.": the directory even when dir is a link to it
                return;
            }
            String base = parts.getLast();
            Path parent = parentOf(e, parts, true);
            if (options.whiteouts() && base.equals(OPAQUE_WHITEOUT)) {
                set(e, () -> io.vessel.linux.Files.lsetxattr(parent.toString(), OVERLAY_OPAQUE_XATTR,
                        "y".getBytes(StandardCharsets.US_ASCII), 0));
                return;
            }
            if (options.whiteouts() && base.startsWith(WHITEOUT_PREFIX)) {
                String hidden = base.substring(WHITEOUT_PREFIX.length());
                if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..") || hidden.startsWith(WHITEOUT_PREFIX)) {
                    throw refuse(e, "bad whiteout name");
                }
                Path target = parent.resolve(hidden);
                set(e, () -> {
                    remove(e, target, attributes(target));
                    io.vessel.linux.Files.mknod(target.toString(), io.vessel.linux.Files.S_IFCHR, 0);
                });
                return;
            }
            Path target = parent.resolve(base);
            BasicFileAttributes existing = attributes(target);
            if (existing != null && !options.replaceDirNonDir()) {
                boolean dirMember = e.type() == TarEntry.Type.DIRECTORY;
                if (existing.isDirectory() && !dirMember) {
                    throw refuse(e, "cannot overwrite the directory \"" + String.join("/", parts) + "\" with a non-directory");
                }
                if (!existing.isDirectory() && dirMember) {
                    throw refuse(e, "cannot overwrite the non-directory \"" + String.join("/", parts) + "\" with a directory");
                }
            }
            switch (e.type()) {
                case DIRECTORY -> set(e, () -> {
                    if (existing == null || !existing.isDirectory()) {
                        remove(e, target, existing);
                        Files.createDirectory(target);
                    }
                });
                case REGULAR -> set(e, () -> {
                    remove(e, target, existing);
                    try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                        reader.content().transferTo(out);
                    }
                });
                case SYMLINK -> {
                    if (e.linkName().isEmpty()) {
                        throw refuse(e, "symlink without a target");
                    }
                    set(e, () -> {
                        remove(e, target, existing);
                        Files.createSymbolicLink(target, Path.of(e.linkName()));
                    });
                }
                case HARDLINK -> {
                    Path source = linkSource(e);
                    if (source.equals(target)) {
                        return; // a link to itself changes nothing
                    }
                    set(e, () -> {
                        remove(e, target, existing);
                        Files.createLink(target, source); // link(2) does not follow a symlink source
                    });
                    return; // the inode's metadata came with the member it links to
                }
                case CHAR, BLOCK, FIFO -> {
                    int kind = switch (e.type()) {
                        case CHAR -> io.vessel.linux.Files.S_IFCHR;
                        case BLOCK -> io.vessel.linux.Files.S_IFBLK;
                        default -> io.vessel.linux.Files.S_IFIFO;
                    };
                    long dev = io.vessel.linux.Files.makedev(e.devMajor(), e.devMinor());
                    set(e, () -> {
                        remove(e, target, existing);
                        io.vessel.linux.Files.mknod(target.toString(), kind | (e.mode() & PERMISSIONS), dev);
                    });
                }
            }
            metadata(e, target);
        }

        /**
         * Removes what is at {@code target} to make room for member {@code e}, refusing when a directory
         * there holds a mount (a device other than its parent's): a container's volume or bind mount is
         * the host's, and a tar member must not empty it. {@code a} is what the caller just found
         * there (null: nothing).
         */
        private void remove(TarEntry e, Path target, BasicFileAttributes a) throws IOException {
            if (a == null) {
                return;
            }
            if (a.isDirectory()) {
                // "parent/.": the apply's root may be a link to its directory (/proc/PID/root)
                Object parentDev = Files.getAttribute(target.getParent().resolve("."), "unix:dev", LinkOption.NOFOLLOW_LINKS);
                mountsBelow(e, target, parentDev);
            }
            FileTrees.remove(target);
        }

        private void mountsBelow(TarEntry e, Path dir, Object dev) throws IOException {
            if (!Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS).equals(dev)) {
                throw refuse(e, "replacing it would remove \"" + root.relativize(dir)
                        + "\", a mount point, with what is mounted there");
            }
            List<Path> subdirs = new ArrayList<>();
            try (var s = Files.newDirectoryStream(dir)) {
                for (Path c : s) {
                    BasicFileAttributes a = attributes(c);
                    if (a != null && a.isDirectory()) {
                        subdirs.add(c);
                    }
                }
            }
            for (Path c : subdirs) {
                mountsBelow(e, c, dev);
            }
        }

        /** Directory times last, deepest first, since creating their children changed them. */
        void finish() throws IOException {
            for (int i = dirTimes.size() - 1; i >= 0; i--) {
                dirTimes.get(i).run();
                if (deferred != null) {
                    throw deferred;
                }
            }
        }

        private void metadata(TarEntry e, Path target) throws IOException {
            String p = target.toString();
            boolean symlink = e.type() == TarEntry.Type.SYMLINK;
            set(e, () -> {
                io.vessel.linux.Files.lchown(p, e.uid(), e.gid());
                if (!symlink) {
                    io.vessel.linux.Files.chmod(p, e.mode() & PERMISSIONS); // after chown, which clears setuid
                }
                for (Map.Entry<String, byte[]> x : e.xattrs().entrySet()) {
                    io.vessel.linux.Files.lsetxattr(p, x.getKey(), x.getValue(), 0);
                }
            });
            if (e.type() == TarEntry.Type.DIRECTORY) {
                dirTimes.add(() -> {
                    try {
                        times(e, p);
                    } catch (IOException ex) {
                        deferred = ex;
                    }
                });
            } else {
                times(e, p);
            }
        }

        private void times(TarEntry e, String p) throws IOException {
            set(e, () -> io.vessel.linux.Files.utimensat(p, e.mtimeSeconds(), e.mtimeNanos(), e.mtimeSeconds(),
                    e.mtimeNanos(), io.vessel.linux.Files.AT_SYMLINK_NOFOLLOW));
        }

        /** The hard link's source: inside the layer, through no symlink, and already applied. */
        private Path linkSource(TarEntry e) throws IOException {
            List<String> parts = components(e, e.linkName());
            if (parts.isEmpty()) {
                throw refuse(e, "hard link to the layer directory itself");
            }
            Path source = parentOf(e, parts, false).resolve(parts.getLast());
            BasicFileAttributes a = attributes(source);
            if (a == null) {
                throw refuse(e, "hard link target \"" + e.linkName() + "\" is not in the layer (yet)");
            }
            if (a.isDirectory()) {
                throw refuse(e, "hard link to a directory");
            }
            return source;
        }

        /** The normalised components of a member name: no leading "./", no "." or empty ones; refuses "/" and "..". */
        private List<String> components(TarEntry e, String name) throws LayerException {
            if (name.startsWith("/")) {
                throw refuse(e, "absolute path \"" + name + "\"");
            }
            if (name.indexOf('\0') >= 0) {
                throw refuse(e, "NUL in path");
            }
            List<String> parts = new ArrayList<>();
            for (String c : name.split("/")) {
                if (c.isEmpty() || c.equals(".")) {
                    continue;
                }
                if (c.equals("..")) {
                    throw refuse(e, "\"..\" in path \"" + name + "\"");
                }
                parts.add(c);
            }
            return parts;
        }

        /**
         * The directory holding the last component, walked from the root one component at a time without
         * following symlinks: a symlink or non-directory on the way is refused; missing directories are made
         * (0755, root-owned) when {@code create}, else refused.
         */
        private Path parentOf(TarEntry e, List<String> parts, boolean create) throws IOException {
            Path p = root;
            for (int i = 0; i < parts.size() - 1; i++) {
                p = p.resolve(parts.get(i));
                BasicFileAttributes a = attributes(p);
                if (a == null) {
                    if (!create) {
                        throw refuse(e, "path \"" + String.join("/", parts.subList(0, i + 1)) + "\" does not exist");
                    }
                    Path dir = p;
                    set(e, () -> Files.createDirectory(dir));
                } else if (a.isSymbolicLink()) {
                    throw refuse(e, "path goes through the symlink \"" + String.join("/", parts.subList(0, i + 1))
                            + "\"");
                } else if (!a.isDirectory()) {
                    throw refuse(e, "\"" + String.join("/", parts.subList(0, i + 1)) + "\" is not a directory");
                }
            }
            return p;
        }

        private LayerException refuse(TarEntry e, String why) {
            return new LayerException(LayerException.at(e.index(), e.name(), e.offset(), "refused: " + why));
        }

        /** Runs a file system step, naming the entry if it fails. */
        private void set(TarEntry e, Step step) throws IOException {
            try {
                step.run();
            } catch (LayerException x) {
                throw x;
            } catch (ErrnoException x) {
                throw new LayerException(LayerException.at(e.index(), e.name(), e.offset(), x.getMessage()), x);
            } catch (IOException x) {
                throw new LayerException(LayerException.at(e.index(), e.name(), e.offset(), x.toString()), x);
            }
        }
    }

    @FunctionalInterface
    private interface Step {
        void run() throws IOException;
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }
}
