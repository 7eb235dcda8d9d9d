package io.vessel.image.layer;

import io.vessel.image.Digest;
import io.vessel.image.Digester;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;
import io.vessel.linux.ErrnoException;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a directory in overlayfs form (a container's upper directory, or a layer directory that
 * {@link LayerApplier} made) as an OCI layer tar: whiteouts (0:0 character devices) become {@code .wh.NAME}
 * members and opaque directories ({@code trusted.overlay.opaque=y}) get a {@code .wh..wh..opq} member.
 *
 * <p>The output is deterministic: members in byte order of their names, each directory before its
 * contents, no user or group names, pax headers only where ustar cannot hold a value (long names or link
 * targets, ids or sizes too large, sub-second times, extended attributes). With {@link Options#mtime} every
 * time is replaced by one fixed second, for reproducible images. Files with several links are stored once;
 * later names are hard-link members (links are found by device and inode). Whiteout and opaque markers are
 * empty 0:0 files of mode 0 and time 0: only their names mean anything. Sockets are skipped, as Docker
 * does. overlayfs's own {@code trusted.overlay.*} attributes (origin, impure, redirect) are never written.
 */
public final class LayerWriter {
    /**
     * How to write.
     *
     * @param mtime every member's modification time in seconds since the epoch (sub-seconds dropped), or null
     *              to keep each file's own
     */
    public record Options(Long mtime) {
        /** Keep each file's own times. */
        public static Options defaults() {
            return new Options(null);
        }

        /** Every member gets the time {@code epochSeconds} (e.g. SOURCE_DATE_EPOCH). */
        public static Options reproducible(long epochSeconds) {
            return new Options(epochSeconds);
        }
    }

    /** The uncompressed tar's sha256 (the layer's diff_id) and its size in bytes. */
    public record Written(Digest diffId, long size) {
    }

    /** A layer stored as a gzip blob: its descriptor (OCI_LAYER_GZIP) and its diff_id. */
    public record Stored(Descriptor descriptor, Digest diffId) {
    }

    private static final int BLOCK = 512;
    private static final String OVERLAY_PRIVATE_XATTRS = "trusted.overlay.";
    private static final byte[] ZERO_BLOCK = new byte[BLOCK];

    private LayerWriter() {
    }

    /** Writes {@code dir} as a layer tar to {@code out} (not closed); returns its diff_id and size. */
    public static Written write(Path dir, OutputStream out, Options opts) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("layer: " + root + " is not a directory");
        }
        Digester digester = Digester.sha256();
        DigestingOutput tar = new DigestingOutput(new BufferedOutputStream(out, 65536), digester);
        Walker w = new Walker(root, tar, opts == null ? Options.defaults() : opts);
        w.directory(root, "");
        tar.write(ZERO_BLOCK);
        tar.write(ZERO_BLOCK);
        tar.flush();
        long size = digester.size();
        return new Written(digester.digest(), size);
    }

    /**
     * Writes {@code dir} as a gzip-compressed layer into {@code blobs}. The compressed stream goes through a
     * temp file in the store's {@code tmp/} (named as the store's own, so a crash leaves nothing that
     * {@link BlobStore#open} does not clean).
     */
    public static Stored store(Path dir, BlobStore blobs, Options opts) throws IOException {
        Path tmp = Files.createDirectories(blobs.root().resolve("tmp"));
        Path temp = tmp.resolve(ProcessHandle.current().pid() + "-" + UUID.randomUUID() + ".partial");
        try {
            Written written;
            try (OutputStream file = Files.newOutputStream(temp);
                 GZIPOutputStream gz = new GZIPOutputStream(file, 65536)) {
                written = write(dir, gz, opts);
                gz.finish();
            }
            long size = Files.size(temp);
            Digest digest;
            try (InputStream in = Files.newInputStream(temp)) {
                digest = blobs.put(in, null, size);
            }
            return new Stored(Descriptor.of(MediaType.OCI_LAYER_GZIP, digest, size), written.diffId());
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** The state of one write: hard links seen so far, keyed by (device, inode). */
    private static final class Walker {
        private final Path root;
        private final DigestingOutput out;
        private final Options opts;
        private final Map<List<Long>, String> linked = new HashMap<>();
        private final byte[] buffer = new byte[65536];

        Walker(Path root, DigestingOutput out, Options opts) {
            this.root = root;
            this.out = out;
            this.opts = opts;
        }

        /** Writes the members of directory {@code d} (named {@code prefix} in the archive, "" for the root). */
        void directory(Path d, String prefix) throws IOException {
            List<String> names = new ArrayList<>();
            try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
                for (Path p : s) {
                    names.add(p.getFileName().toString());
                }
            }
            names.sort(LayerWriter::compareUtf8);
            for (String name : names) {
                member(d.resolve(name), prefix + name);
            }
        }

        private void member(Path p, String name) throws IOException {
            Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            int type = mode & 0170000;
            long uid = ((Number) a.get("uid")).longValue();
            long gid = ((Number) a.get("gid")).longValue();
            FileTime mtime = (FileTime) a.get("lastModifiedTime");
            Header h = new Header(name, mode & 07777, uid, gid, mtime.toInstant());
            switch (type) {
                case 0040000 -> { // directory
                    h.name = name + "/";
                    h.flag = '5';
                    h.xattrs = xattrs(p);
                    emit(h, null);
                    if (isOpaque(p)) {
                        Header opq = new Header(name + "/" + LayerApplier.OPAQUE_WHITEOUT, 0, 0, 0, Instant.EPOCH);
                        opq.flag = '0';
                        emit(opq, null);
                    }
                    directory(p, name + "/");
                }
                case 0100000 -> { // regular file
                    long nlink = ((Number) a.get("nlink")).longValue();
                    if (nlink > 1) {
                        List<Long> key = List.of(((Number) a.get("dev")).longValue(), ((Number) a.get("ino")).longValue());
                        String first = linked.putIfAbsent(key, name);
                        if (first != null) {
                            h.flag = '1';
                            h.link = first;
                            emit(h, null);
                            return;
                        }
                    }
                    h.flag = '0';
                    h.size = (Long) a.get("size");
                    h.xattrs = xattrs(p);
                    emit(h, p);
                }
                case 0120000 -> { // symlink
                    h.flag = '2';
                    h.link = Files.readSymbolicLink(p).toString();
                    h.xattrs = xattrs(p);
                    emit(h, null);
                }
                case 0020000, 0060000 -> { // character, block device
                    long rdev = ((Number) a.get("rdev")).longValue();
                    if (type == 0020000 && rdev == 0) { // overlayfs whiteout
                        int slash = name.lastIndexOf('/');
                        Header wh = new Header(name.substring(0, slash + 1) + LayerApplier.WHITEOUT_PREFIX
                                + name.substring(slash + 1), 0, 0, 0, Instant.EPOCH);
                        wh.flag = '0';
                        emit(wh, null);
                        return;
                    }
                    h.flag = type == 0020000 ? (byte) '3' : (byte) '4';
                    h.devMajor = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
                    h.devMinor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
                    h.xattrs = xattrs(p);
                    emit(h, null);
                }
                case 0010000 -> { // fifo
                    h.flag = '6';
                    h.xattrs = xattrs(p);
                    emit(h, null);
                }
                default -> {
                    // sockets (0140000): not archivable; a listening process recreates them
                }
            }
        }

        private boolean isOpaque(Path dir) throws IOException {
            byte[] v = io.vessel.linux.Files.lgetxattr(dir.toString(), LayerApplier.OVERLAY_OPAQUE_XATTR);
            return v != null && v.length == 1 && v[0] == 'y';
        }

        /** The extended attributes to archive, sorted by name; overlayfs's private ones left out. */
        private Map<String, byte[]> xattrs(Path p) throws IOException {
            List<String> names;
            try {
                names = new ArrayList<>(io.vessel.linux.Files.llistxattr(p.toString()));
            } catch (ErrnoException e) {
                throw new IOException("layer: cannot list the extended attributes of " + p + ": " + e.getMessage(), e);
            }
            names.sort(String::compareTo);
            Map<String, byte[]> out = new LinkedHashMap<>();
            for (String n : names) {
                if (n.startsWith(OVERLAY_PRIVATE_XATTRS)) {
                    continue;
                }
                byte[] v = io.vessel.linux.Files.lgetxattr(p.toString(), n);
                if (v != null) {
                    out.put(n, v);
                }
            }
            return out;
        }

        /** Writes a member: a pax header first if needed, then the ustar header, then {@code content}'s bytes. */
        private void emit(Header h, Path content) throws IOException {
            long seconds = h.mtime.getEpochSecond();
            int nanos = h.mtime.getNano();
            if (opts.mtime() != null) {
                seconds = opts.mtime();
                nanos = 0;
            }
            Map<String, byte[]> pax = new LinkedHashMap<>();
            byte[] nameBytes = h.name.getBytes(StandardCharsets.UTF_8);
            if (nameBytes.length > 100 || !ascii(h.name)) {
                pax.put("path", nameBytes);
            }
            byte[] linkBytes = h.link.getBytes(StandardCharsets.UTF_8);
            if (linkBytes.length > 100 || !ascii(h.link)) {
                pax.put("linkpath", linkBytes);
            }
            if (h.uid > 07777777) {
                pax.put("uid", asciiBytes(Long.toString(h.uid)));
            }
            if (h.gid > 07777777) {
                pax.put("gid", asciiBytes(Long.toString(h.gid)));
            }
            if (h.size > 077777777777L) {
                pax.put("size", asciiBytes(Long.toString(h.size)));
            }
            if (nanos != 0 || seconds < 0 || seconds > 077777777777L) {
                pax.put("mtime", asciiBytes(paxTime(seconds, nanos)));
            }
            for (Map.Entry<String, byte[]> x : h.xattrs.entrySet()) {
                pax.put(TarReader.PAX_XATTR + x.getKey(), x.getValue());
            }
            if (!pax.isEmpty()) {
                byte[] records = paxRecords(pax);
                Header ph = new Header("PaxHeaders/" + truncate(baseName(h.name), 80), 0644, 0, 0, Instant.EPOCH);
                ph.flag = 'x';
                ph.size = records.length;
                out.write(ustar(ph, 0));
                out.write(records);
                pad(records.length);
            }
            out.write(ustar(h, seconds));
            if (content != null) {
                copy(content, h.size, h.name);
                pad(h.size);
            }
        }

        private void copy(Path file, long size, String name) throws IOException {
            long left = size;
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                while (left > 0) {
                    int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                    if (n < 0) {
                        throw new IOException("layer: " + file + " (" + name + ") shrank while being archived: "
                                + (size - left) + " of " + size + " bytes");
                    }
                    out.write(buffer, 0, n);
                    left -= n;
                }
                if (in.read() >= 0) {
                    throw new IOException("layer: " + file + " (" + name + ") grew while being archived beyond "
                            + size + " bytes");
                }
            }
        }

        private void pad(long size) throws IOException {
            int rest = (int) (size % BLOCK);
            if (rest != 0) {
                out.write(ZERO_BLOCK, 0, BLOCK - rest);
            }
        }
    }

    /** A member's header fields before encoding. */
    private static final class Header {
        String name;
        final int mode;
        final long uid;
        final long gid;
        final Instant mtime;
        byte flag;
        String link = "";
        long size;
        long devMajor;
        long devMinor;
        Map<String, byte[]> xattrs = Map.of();

        Header(String name, int mode, long uid, long gid, Instant mtime) {
            this.name = name;
            this.mode = mode;
            this.uid = uid;
            this.gid = gid;
            this.mtime = mtime;
        }
    }

    /** The 512-byte ustar header; values too large for a field are in the pax header before it, the field 0. */
    private static byte[] ustar(Header h, long seconds) {
        byte[] b = new byte[BLOCK];
        byte[] name = h.name.getBytes(StandardCharsets.UTF_8);
        if (name.length <= 100 && ascii(h.name)) {
            System.arraycopy(name, 0, b, 0, name.length);
        } else {
            byte[] t = truncate(h.name, 100).getBytes(StandardCharsets.UTF_8);
            System.arraycopy(t, 0, b, 0, Math.min(100, t.length));
        }
        octal(b, 100, 8, h.mode);
        octal(b, 108, 8, h.uid > 07777777 ? 0 : h.uid);
        octal(b, 116, 8, h.gid > 07777777 ? 0 : h.gid);
        octal(b, 124, 12, h.size > 077777777777L ? 0 : h.size);
        octal(b, 136, 12, seconds < 0 || seconds > 077777777777L ? 0 : seconds);
        b[156] = h.flag;
        byte[] link = h.link.getBytes(StandardCharsets.UTF_8);
        if (link.length <= 100 && ascii(h.link)) {
            System.arraycopy(link, 0, b, 157, link.length);
        }
        System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, b, 257, 6);
        b[263] = '0';
        b[264] = '0';
        if (h.flag == '3' || h.flag == '4') {
            octal(b, 329, 8, h.devMajor);
            octal(b, 337, 8, h.devMinor);
        }
        // checksum: the sum of all bytes with the checksum field counted as spaces; 6 octal digits, NUL, space
        for (int i = 148; i < 156; i++) {
            b[i] = ' ';
        }
        long sum = 0;
        for (byte x : b) {
            sum += x & 0xff;
        }
        String s = String.format("%06o", sum);
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, b, 148, 6);
        b[154] = 0;
        b[155] = ' ';
        return b;
    }

    /** A zero-padded octal number filling {@code len - 1} digits, then NUL. */
    private static void octal(byte[] b, int off, int len, long v) {
        String s = Long.toOctalString(v);
        if (s.length() > len - 1) {
            throw new IllegalStateException("tar field at " + off + " cannot hold " + v);
        }
        s = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, b, off, len - 1);
        b[off + len - 1] = 0;
    }

    /** pax records {@code "<len> <key>=<value>\n"}, where len counts the whole record, its own digits too. */
    private static byte[] paxRecords(Map<String, byte[]> pax) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> e : pax.entrySet()) {
            byte[] key = e.getKey().getBytes(StandardCharsets.UTF_8);
            int rest = 1 + key.length + 1 + e.getValue().length + 1; // " key=value\n"
            int len = rest + 1;
            while (Integer.toString(len).length() + rest != len) {
                len = Integer.toString(len).length() + rest;
            }
            out.write(asciiBytes(Integer.toString(len)));
            out.write(' ');
            out.write(key);
            out.write('=');
            out.write(e.getValue());
            out.write('\n');
        }
        return out.toByteArray();
    }

    private static String paxTime(long seconds, int nanos) {
        if (nanos == 0) {
            return Long.toString(seconds);
        }
        java.math.BigDecimal d = java.math.BigDecimal.valueOf(seconds).add(java.math.BigDecimal.valueOf(nanos, 9));
        return d.stripTrailingZeros().toPlainString();
    }

    private static String baseName(String name) {
        String n = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
        return n.substring(n.lastIndexOf('/') + 1);
    }

    /** At most {@code max} UTF-8 bytes of {@code s}, ASCII only (others become '_'): for fields only old readers use. */
    private static String truncate(String s, int max) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '_');
        }
        return b.toString();
    }

    private static boolean ascii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0 || c >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static byte[] asciiBytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Byte order of the UTF-8 encodings, as Go's and GNU tar's sorted outputs use. */
    static int compareUtf8(String a, String b) {
        return java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    /** Hashes and counts the uncompressed tar as it is written. */
    private static final class DigestingOutput extends FilterOutputStream {
        private final Digester digester;

        DigestingOutput(OutputStream out, Digester digester) {
            super(out);
            this.digester = digester;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            digester.update(new byte[]{(byte) b});
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            digester.update(b, off, len);
        }
    }
}
