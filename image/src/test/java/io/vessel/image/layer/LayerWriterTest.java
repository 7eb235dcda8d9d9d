package io.vessel.image.layer;

import io.vessel.image.Digest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;
import io.vessel.linux.Files;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import static java.nio.file.Files.createDirectories;
import static java.nio.file.Files.createLink;
import static java.nio.file.Files.createSymbolicLink;
import static java.nio.file.Files.writeString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerWriterTest {
    @TempDir
    Path tmp;

    /** A tree with every kind of member the writer handles, in overlayfs form. */
    static void populate(Path d) throws IOException {
        createDirectories(d.resolve("etc/ssl"));
        writeString(d.resolve("etc/hostname"), "box\n");
        writeString(d.resolve("etc/ssl/cert.pem"), "x".repeat(3000));
        Files.chmod(d.resolve("etc/ssl/cert.pem").toString(), 04755);
        Files.lchown(d.resolve("etc/ssl").toString(), 3_000_000, 42);
        createLink(d.resolve("etc/hostname.link"), d.resolve("etc/hostname"));
        createDirectories(d.resolve("bin"));
        createLink(d.resolve("bin/hostname2"), d.resolve("etc/hostname"));
        createSymbolicLink(d.resolve("bin/sh"), Path.of("busybox"));
        String longTarget = "/" + "t".repeat(150) + "/target";
        createSymbolicLink(d.resolve("bin/long"), Path.of(longTarget));
        Path deep = createDirectories(d.resolve("a".repeat(90) + "/" + "b".repeat(90)));
        writeString(deep.resolve("c".repeat(60) + "-ünïcode"), "deep");
        Files.mknod(d.resolve("gone").toString(), Files.S_IFCHR, 0); // whiteout
        Files.mknod(d.resolve("etc/gone.conf").toString(), Files.S_IFCHR, 0);
        createDirectories(d.resolve("var/opaque/sub"));
        Files.lsetxattr(d.resolve("var/opaque").toString(), LayerApplier.OVERLAY_OPAQUE_XATTR, "y".getBytes(), 0);
        writeString(d.resolve("var/opaque/sub/f"), "f");
        createDirectories(d.resolve("dev"));
        Files.mknod(d.resolve("dev/null").toString(), Files.S_IFCHR | 0666, Files.makedev(1, 3));
        Files.mknod(d.resolve("dev/loop9").toString(), Files.S_IFBLK | 0660, Files.makedev(7, 9));
        Files.mkfifo(d.resolve("dev/fifo").toString(), 0600);
        Files.lsetxattr(d.resolve("etc/hostname").toString(), "user.comment", "hi\0there".getBytes(), 0);
        Files.lsetxattr(d.resolve("bin").toString(), "trusted.vessel-test", new byte[]{1, 0, 0, 2}, 0);
        java.nio.file.Files.setLastModifiedTime(d.resolve("etc/hostname"),
                FileTime.from(Instant.ofEpochSecond(1_700_000_000L, 123_456_789)));
        java.nio.file.Files.setLastModifiedTime(d.resolve("etc"), FileTime.from(Instant.ofEpochSecond(1_000_000)));
        Files.utimensat(d.resolve("bin/sh").toString(), 5, 0, 5, 0, Files.AT_SYMLINK_NOFOLLOW);
    }

    /** Everything that a layer carries of a tree, per relative path; hard links as their group's first name. */
    static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        Map<List<Object>, String> inodes = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
        List<Path> all;
        try (Stream<Path> s = java.nio.file.Files.walk(root)) {
            all = new ArrayList<>(s.filter(p -> !p.equals(root)).sorted().toList());
        }
        for (Path p : all) {
            String rel = root.relativize(p).toString();
            Map<String, Object> a = java.nio.file.Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            StringBuilder b = new StringBuilder();
            b.append(Integer.toOctalString(mode)).append(' ').append(a.get("uid")).append(':').append(a.get("gid"));
            b.append(" rdev=").append(a.get("rdev"));
            boolean whiteout = (mode & 0170000) == 0020000 && ((Number) a.get("rdev")).longValue() == 0;
            if ((mode & 0170000) != 0040000 && !whiteout) { // whiteouts carry no time: only their name matters
                b.append(" mtime=").append(((FileTime) a.get("lastModifiedTime")).toInstant());
            }
            if ((mode & 0170000) == 0100000) {
                b.append(" data=").append(HexFormat.of().formatHex(Digest.of(java.nio.file.Files.readAllBytes(p))
                        .hex().getBytes(), 0, 8));
                String first = inodes.putIfAbsent(List.of(a.get("dev"), a.get("ino")), rel);
                b.append(" inode=").append(first == null ? rel : first);
            }
            if ((mode & 0170000) == 0120000) {
                b.append(" -> ").append(java.nio.file.Files.readSymbolicLink(p));
            }
            for (String x : Files.llistxattr(p.toString()).stream().sorted().toList()) {
                b.append(' ').append(x).append('=').append(HexFormat.of().formatHex(Files.lgetxattr(p.toString(), x)));
            }
            out.put(rel, b.toString());
        }
        return out;
    }

    @Test
    void roundTripThroughTheApplierReproducesTheTreeExactly() throws IOException {
        Path src = createDirectories(tmp.resolve("src"));
        populate(src);
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        LayerWriter.Written w = LayerWriter.write(src, tar, LayerWriter.Options.defaults());
        assertEquals(tar.size(), w.size());
        assertEquals(Digest.of(tar.toByteArray()), w.diffId());

        Path dst = createDirectories(tmp.resolve("dst"));
        LayerApplier.Applied applied = LayerApplier.apply(new ByteArrayInputStream(tar.toByteArray()), dst);
        assertEquals(w.diffId(), applied.diffId());
        Map<String, String> expected = describe(src);
        assertEquals(expected, describe(dst));
        assertTrue(expected.get("gone").startsWith("20000 0:0 rdev=0"), expected.get("gone"));
        assertTrue(expected.get("etc/hostname.link").contains("inode=bin/hostname2"));
        assertTrue(expected.get("var/opaque").contains("trusted.overlay.opaque=79"));

        // and written again from the applied tree, the same bytes
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        LayerWriter.write(dst, again, LayerWriter.Options.defaults());
        assertArrayEquals(tar.toByteArray(), again.toByteArray());
    }

    @Test
    void writesOciWhiteoutsAndOpaqueMarkersInSortedOrder() throws IOException {
        Path src = createDirectories(tmp.resolve("src"));
        populate(src);
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        LayerWriter.write(src, tar, LayerWriter.Options.defaults());
        List<String> names = new ArrayList<>();
        List<TarEntry> entries = new ArrayList<>();
        TarReader r = new TarReader(new ByteArrayInputStream(tar.toByteArray()));
        for (TarEntry e; (e = r.next()) != null; ) {
            names.add(e.name());
            entries.add(e);
        }
        assertTrue(names.contains(".wh.gone"), names.toString());
        assertTrue(names.contains("etc/.wh.gone.conf"), names.toString());
        assertTrue(names.indexOf("var/opaque/.wh..wh..opq") == names.indexOf("var/opaque/") + 1, names.toString());
        // each directory precedes its contents, and siblings are in byte order
        for (int i = 1; i < names.size(); i++) {
            String prev = names.get(i - 1).replaceAll("/$", "");
            String cur = names.get(i).replaceAll("/$", "");
            String pp = prev.contains("/") ? prev.substring(0, prev.lastIndexOf('/')) : "";
            String cp = cur.contains("/") ? cur.substring(0, cur.lastIndexOf('/')) : "";
            if (pp.equals(cp)) {
                assertTrue(LayerWriter.compareUtf8(prev, cur) < 0, prev + " before " + cur);
            }
        }
        TarEntry hard = entries.stream().filter(e -> e.name().equals("etc/hostname.link")).findFirst().orElseThrow();
        assertEquals(TarEntry.Type.HARDLINK, hard.type());
        // bin/hostname2 sorts first, so it carries the data and etc/hostname links to it
        assertEquals("bin/hostname2", hard.linkName());
        TarEntry ssl = entries.stream().filter(e -> e.name().equals("etc/ssl/")).findFirst().orElseThrow();
        assertEquals(3_000_000, ssl.uid());
        TarEntry file = entries.stream().filter(e -> e.name().equals("bin/hostname2")).findFirst().orElseThrow();
        assertEquals(123_456_789, file.mtimeNanos());
        assertArrayEquals("hi\0there".getBytes(), file.xattrs().get("user.comment"));
    }

    @Test
    void aFixedMtimeMakesTheOutputIndependentOfFileTimes() throws IOException {
        Path src = createDirectories(tmp.resolve("src"));
        populate(src);
        LayerWriter.Options fixed = LayerWriter.Options.reproducible(1_234_567_890L);
        ByteArrayOutputStream one = new ByteArrayOutputStream();
        Digest first = LayerWriter.write(src, one, fixed).diffId();
        java.nio.file.Files.setLastModifiedTime(src.resolve("etc/hostname"), FileTime.from(Instant.now()));
        java.nio.file.Files.setLastModifiedTime(src.resolve("var"), FileTime.from(Instant.now()));
        ByteArrayOutputStream two = new ByteArrayOutputStream();
        assertEquals(first, LayerWriter.write(src, two, fixed).diffId());
        assertArrayEquals(one.toByteArray(), two.toByteArray());
        assertNotEquals(first, LayerWriter.write(src, new ByteArrayOutputStream(), LayerWriter.Options.defaults())
                .diffId());
        TarReader r = new TarReader(new ByteArrayInputStream(one.toByteArray()));
        for (TarEntry e; (e = r.next()) != null; ) {
            assertEquals(1_234_567_890L, e.mtimeSeconds(), e.name());
        }
    }

    @Test
    void gnuTarReadsTheOutput() throws Exception {
        Path src = createDirectories(tmp.resolve("src"));
        populate(src);
        Path tarFile = tmp.resolve("layer.tar");
        try (var out = java.nio.file.Files.newOutputStream(tarFile)) {
            LayerWriter.write(src, out, LayerWriter.Options.defaults());
        }
        Process p = new ProcessBuilder("tar", "-tvf", tarFile.toString()).redirectErrorStream(true).start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), listing);
        assertTrue(listing.contains("a".repeat(90) + "/" + "b".repeat(90) + "/" + "c".repeat(60) + "-ünïcode"), listing);
        assertTrue(listing.contains("bin/long -> /" + "t".repeat(150) + "/target"), listing);
        assertTrue(listing.contains("etc/hostname.link link to bin/hostname2"), listing);
    }

    @Test
    void storesAGzipBlobWhoseContentIsTheDiff() throws IOException {
        Path src = createDirectories(tmp.resolve("src"));
        populate(src);
        BlobStore blobs = BlobStore.open(tmp.resolve("store"));
        LayerWriter.Stored stored = LayerWriter.store(src, blobs, LayerWriter.Options.defaults());
        assertEquals(MediaType.OCI_LAYER_GZIP, stored.descriptor().mediaType());
        assertEquals(blobs.size(stored.descriptor().digest()), stored.descriptor().size());
        byte[] tar;
        try (InputStream in = new GZIPInputStream(blobs.open(stored.descriptor().digest()))) {
            tar = in.readAllBytes();
        }
        assertEquals(stored.diffId(), Digest.of(tar));
        try (Stream<Path> s = java.nio.file.Files.list(tmp.resolve("store/tmp"))) {
            assertEquals(0, s.count(), "temp files left");
        }
    }
}
