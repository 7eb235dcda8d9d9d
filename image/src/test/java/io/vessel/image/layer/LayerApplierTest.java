package io.vessel.image.layer;

import io.vessel.image.Digest;
import io.vessel.linux.Mount;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerApplierTest {
    @TempDir
    Path tmp;

    private final List<Path> mounts = new ArrayList<>();
    private final List<Path> outside = new ArrayList<>();

    @AfterEach
    void cleanUp() throws IOException {
        for (Path m : mounts.reversed()) {
            Mount.umount(m.toString(), Mount.MNT_DETACH);
        }
        for (Path o : outside) {
            if (Files.exists(o, NOFOLLOW_LINKS)) {
                try (Stream<Path> s = Files.walk(o)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
        }
    }

    private Path dir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    private static LayerApplier.Applied apply(byte[] layer, Path dir) throws IOException {
        return LayerApplier.apply(new ByteArrayInputStream(layer), dir);
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", NOFOLLOW_LINKS);
    }

    private static Object attr(Path p, String name) throws IOException {
        return Files.getAttribute(p, "unix:" + name, NOFOLLOW_LINKS);
    }

    @Test
    void appliesEveryEntryTypeWithItsMetadata() throws IOException {
        TarWriter w = new TarWriter();
        w.dir("./usr/", 0755).dir("./usr/bin/", 0755);
        w.uid = 1234;
        w.gid = 4321;
        w.mtime = 1_500_000_000L;
        w.file("./usr/bin/su", 04755, "#!/bin/sh\n");
        w.uid = 0;
        w.gid = 0;
        w.dir("tmp/", 01777);
        w.symlink("usr/passwd", "/etc/passwd");
        w.hardlink("usr/bin/su2", "usr/bin/su");
        w.fifo("usr/fifo", 0600);
        w.chr("usr/null", 0666, 1, 3);
        String longName = "usr/" + "d".repeat(80) + "/" + "f".repeat(60);
        w.entry(longName, '0', 0640, "", "long".getBytes(StandardCharsets.UTF_8), 0, 0,
                Map.of("user.test", "hello".getBytes(StandardCharsets.UTF_8)));
        Path d = dir("layer");
        LayerApplier.Applied applied = apply(w.finish(), d);
        assertEquals(9, applied.entries());

        Path su = d.resolve("usr/bin/su");
        assertEquals("#!/bin/sh\n", Files.readString(su));
        assertEquals(0104755, mode(su));
        assertEquals(1234, attr(su, "uid"));
        assertEquals(4321, attr(su, "gid"));
        assertEquals(FileTime.fromMillis(1_500_000_000_000L), Files.getLastModifiedTime(su, NOFOLLOW_LINKS));
        assertEquals(041777, mode(d.resolve("tmp")));
        assertEquals(FileTime.fromMillis(1_600_000_000_000L), Files.getLastModifiedTime(d.resolve("usr"), NOFOLLOW_LINKS),
                "directory mtimes are set after their contents");
        assertTrue(Files.isSymbolicLink(d.resolve("usr/passwd")));
        assertEquals(Path.of("/etc/passwd"), Files.readSymbolicLink(d.resolve("usr/passwd")));
        assertEquals(attr(su, "ino"), attr(d.resolve("usr/bin/su2"), "ino"));
        assertEquals(2, attr(su, "nlink"));
        assertEquals(0010600, mode(d.resolve("usr/fifo")));
        assertEquals(0020666, mode(d.resolve("usr/null")));
        assertEquals(io.vessel.linux.Files.makedev(1, 3), attr(d.resolve("usr/null"), "rdev"));
        Path lf = d.resolve(longName);
        assertEquals("long", Files.readString(lf));
        assertEquals(0100640, mode(lf));
        assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8),
                io.vessel.linux.Files.lgetxattr(lf.toString(), "user.test"));
    }

    @Test
    void entriesReplaceOthersOfAnotherType() throws IOException {
        Path d = dir("layer");
        Files.createDirectories(d.resolve("keep"));
        Files.writeString(d.resolve("keep/old"), "old");
        byte[] tar = new TarWriter().file("x", 0644, "file").dir("x", 0755).file("x/f", 0644, "in dir")
                .dir("keep", 0700).dir("y", 0755).file("y/z", 0644, "z").file("y", 0600, "now a file").finish();
        apply(tar, d);
        assertEquals("in dir", Files.readString(d.resolve("x/f")));
        assertEquals("old", Files.readString(d.resolve("keep/old")));
        assertEquals(040700, mode(d.resolve("keep")));
        assertEquals("now a file", Files.readString(d.resolve("y")));
    }

    @Test
    void whiteoutsAndOpaqueDirectoriesWorkAcrossThreeLayersInARealOverlay() throws IOException {
        Path l1 = dir("l1");
        Path l2 = dir("l2");
        Path l3 = dir("l3");
        apply(new TarWriter().file("a", 0644, "a").file("b", 0644, "b").dir("d", 0755).file("d/x", 0644, "x")
                .file("d/z", 0644, "z").finish(), l1);
        apply(new TarWriter().file(".wh.a", 0644, "").dir("d", 0755).file("d/.wh..wh..opq", 0644, "")
                .file("d/y", 0644, "y").finish(), l2);
        apply(new TarWriter().file("./.wh.b", 0644, "").file("c", 0644, "c").finish(), l3);

        Path wa = l2.resolve("a");
        assertEquals(0020000, mode(wa) & 0170000, "a whiteout is a character device");
        assertEquals(0L, attr(wa, "rdev"));
        assertFalse(Files.exists(l2.resolve(".wh.a"), NOFOLLOW_LINKS));
        assertArrayEquals(new byte[]{'y'}, io.vessel.linux.Files.lgetxattr(l2.resolve("d").toString(),
                LayerApplier.OVERLAY_OPAQUE_XATTR));
        assertFalse(Files.exists(l2.resolve("d/.wh..wh..opq"), NOFOLLOW_LINKS));
        assertNull(io.vessel.linux.Files.lgetxattr(l1.resolve("d").toString(), LayerApplier.OVERLAY_OPAQUE_XATTR));

        Path merged = dir("merged");
        Mount.mount("overlay", merged.toString(), "overlay", 0, "lowerdir=" + l3 + ":" + l2 + ":" + l1
                + ",upperdir=" + dir("upper") + ",workdir=" + dir("work"));
        mounts.add(merged);
        assertFalse(Files.exists(merged.resolve("a"), NOFOLLOW_LINKS));
        assertFalse(Files.exists(merged.resolve("b"), NOFOLLOW_LINKS));
        assertEquals("c", Files.readString(merged.resolve("c")));
        try (Stream<Path> s = Files.list(merged.resolve("d"))) {
            assertEquals(List.of("y"), s.map(p -> p.getFileName().toString()).toList());
        }
        try (Stream<Path> s = Files.list(merged)) {
            assertEquals(List.of("c", "d"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    private void assertRefused(byte[] tar, String entryName) throws IOException {
        Path parent = Files.createDirectories(tmp.resolve("escape-" + UUID.randomUUID()));
        Path d = Files.createDirectories(parent.resolve("layer"));
        LayerException e = assertThrows(LayerException.class, () -> apply(tar, d));
        assertTrue(e.getMessage().contains("(" + entryName + ")") && e.getMessage().contains("refused"),
                e.getMessage());
        try (Stream<Path> s = Files.list(parent)) {
            assertEquals(List.of(d), s.toList(), "nothing written beside the layer directory");
        }
    }

    @Test
    void refusesEscapes() throws IOException {
        assertRefused(new TarWriter().file("../evil", 0644, "x").finish(), "../evil");
        assertRefused(new TarWriter().file("/abs", 0644, "x").finish(), "/abs");
        assertRefused(new TarWriter().file("a/../../evil", 0644, "x").finish(), "a/../../evil");
        assertRefused(new TarWriter().hardlink("pw", "../../etc/passwd").finish(), "pw");
        assertRefused(new TarWriter().file(".wh...", 0644, "").finish(), ".wh...");

        Path out = Path.of("/tmp/outside-" + UUID.randomUUID());
        outside.add(out);
        Files.createDirectories(out);
        assertRefused(new TarWriter().symlink("link", out.toString()).file("link/pwned", 0644, "x").finish(),
                "link/pwned");
        assertRefused(new TarWriter().symlink("link", out.toString()).hardlink("h", "link/whatever").finish(), "h");
        assertRefused(new TarWriter().symlink("link", out.toString()).file("link/.wh.x", 0644, "").finish(),
                "link/.wh.x");
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(0, s.count(), "nothing written through the symlink");
        }
    }

    @Test
    void diffIdIsTheSha256OfThePlainTarForPlainAndGzipInput() throws IOException {
        byte[] tar = new TarWriter().dir("etc", 0755).file("etc/hostname", 0644, "vessel\n").finish();
        Digest expected = Digest.of(tar);
        assertEquals(expected, apply(tar, dir("plain")).diffId());
        LayerApplier.Applied gz = apply(TarWriter.gzip(tar), dir("gz"));
        assertEquals(expected, gz.diffId());
        assertEquals(2, gz.entries());
        assertEquals("vessel\n", Files.readString(tmp.resolve("gz/etc/hostname")));
    }

    /** Compresses with the real zstd(1), as layer producers (buildah, BuildKit's zstd exporter) do. */
    private byte[] zstdCli(byte[] data, String... flags) throws IOException, InterruptedException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/zstd")),
                "the zstd command is not installed (scripts/install-deps.sh --test installs it)");
        Path in = tmp.resolve("in-" + UUID.randomUUID());
        Files.write(in, data);
        List<String> cmd = new ArrayList<>(List.of("zstd", "-q", "-c"));
        cmd.addAll(List.of(flags));
        cmd.add(in.toString());
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), "zstd " + String.join(" ", cmd));
        return out;
    }

    @Test
    void zstdLayersMadeByTheZstdCommandApply() throws Exception {
        TarWriter w = new TarWriter();
        w.dir("etc", 0755).file("etc/hostname", 0644, "vessel\n").file("big", 0600, "z".repeat(300_000));
        byte[] tar = w.finish();
        Digest expected = Digest.of(tar);
        for (String[] flags : List.of(new String[]{}, new String[]{"-19"}, new String[]{"--no-check", "-1"})) {
            Path d = dir("z" + flags.length + (flags.length > 0 ? flags[0].replace("-", "") : ""));
            LayerApplier.Applied z = apply(zstdCli(tar, flags), d);
            assertEquals(expected, z.diffId(), "diff_id is of the uncompressed tar");
            assertEquals("vessel\n", Files.readString(d.resolve("etc/hostname")));
            assertEquals(300_000, Files.size(d.resolve("big")));
        }
        // two frames, as a concatenation of zstd outputs (and a multi-threaded zstd) makes
        byte[] half1 = java.util.Arrays.copyOfRange(tar, 0, 1024);
        byte[] half2 = java.util.Arrays.copyOfRange(tar, 1024, tar.length);
        java.io.ByteArrayOutputStream two = new java.io.ByteArrayOutputStream();
        two.write(zstdCli(half1));
        two.write(zstdCli(half2));
        assertEquals(expected, apply(two.toByteArray(), dir("frames")).diffId());
    }

    @Test
    void corruptZstdIsALayerError() throws Exception {
        byte[] z = zstdCli(new TarWriter().file("a", 0644, "x".repeat(10_000)).finish());
        z[z.length / 2] ^= 0x55;
        z[z.length / 2 + 1] ^= 0x55;
        LayerException e = assertThrows(LayerException.class, () -> apply(z, dir("bad")));
        assertTrue(e.getMessage().contains("zstd"), e.getMessage());
    }

    @Test
    void truncatedAndCorruptArchivesNameTheEntryAndOffset() throws IOException {
        byte[] tar = new TarWriter().file("f1", 0644, "one").file("f2", 0644, "x".repeat(2000)).finish();
        byte[] cut = java.util.Arrays.copyOf(tar, 1024 + 512 + 700);
        LayerException e = assertThrows(LayerException.class, () -> apply(cut, dir("cut")));
        assertTrue(e.getMessage().startsWith("layer tar: entry 2 (f2) at offset 1024: data truncated"), e.getMessage());

        byte[] bad = tar.clone();
        bad[1024 + 10] ^= 1; // in entry 2's name
        e = assertThrows(LayerException.class, () -> apply(bad, dir("bad")));
        assertTrue(e.getMessage().matches("layer tar: entry 2 \\(.*\\) at offset 1024: bad header checksum"),
                e.getMessage());

        byte[] noEnd = new TarWriter().file("f1", 0644, "one").unfinished();
        e = assertThrows(LayerException.class, () -> apply(noEnd, dir("noend")));
        assertTrue(e.getMessage().startsWith("layer tar: entry 2 (?) at offset 1024: archive ends"), e.getMessage());
    }

    @Test
    void readsGnuLongNamesAndPaxRecords() throws IOException {
        String longName = "g".repeat(150);
        byte[] body = (longName + "\0").getBytes(StandardCharsets.UTF_8);
        TarWriter w = new TarWriter();
        w.entry("././@LongLink", 'L', 0, "", body, 0, 0, Map.of());
        w.file(longName.substring(0, 100), 0644, "gnu");
        w.entry("sym", '2', 0777, "t".repeat(120), new byte[0], 0, 0, Map.of());
        TarReader r = new TarReader(new ByteArrayInputStream(w.finish()));
        TarEntry e1 = r.next();
        assertEquals(longName, e1.name());
        assertEquals(1, e1.index());
        assertEquals("gnu", new String(r.content().readAllBytes(), StandardCharsets.UTF_8));
        TarEntry e2 = r.next();
        assertEquals(TarEntry.Type.SYMLINK, e2.type());
        assertEquals("t".repeat(120), e2.linkName());
        assertNull(r.next());
    }

    @Test
    void extensionHeadersBeforeOneMemberAreBoundedTogether() throws IOException {
        // each header under the limit, together over it: records with keys nobody reads would pile up in memory
        TarWriter w = new TarWriter();
        byte[] value = new byte[TarReader.MAX_EXTENSION / 2];
        for (int i = 0; i < 3; i++) {
            w.paxHeader("VESSEL.filler" + i, value);
        }
        w.file("f", 0644, "data");
        Path d = dir("piled");
        LayerException e = assertThrows(LayerException.class, () -> apply(w.finish(), d));
        assertTrue(e.getMessage().contains("extension headers of") && e.getMessage().contains("before one member"),
                e.getMessage());
        assertFalse(Files.exists(d.resolve("f"), NOFOLLOW_LINKS));
    }
}
