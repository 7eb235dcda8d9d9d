package io.vessel.engine.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vessel.image.Digest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuildContextTest {
    @TempDir
    Path dir;
    Path ctx;

    @BeforeEach
    void context() throws IOException {
        ctx = Files.createDirectory(dir.resolve("ctx"));
        write("Dockerfile", "FROM busybox\n");
        write("a.txt", "a");
        write("b.txt", "b");
        write("src/main.c", "int main;");
        write("src/lib/util.c", "util");
        write("src/notes.md", "notes");
        Files.createSymbolicLink(ctx.resolve("src/link"), Path.of("main.c"));
        write("docs/keep/x", "x");
        write("docs/drop", "d");
        write("secret.key", "k");
        write(".dockerignore", "*.key\nsrc/*.md\ndocs\n!docs/keep\n");
        write(dir.resolve("outside").toString(), "o");
    }

    private void write(String rel, String content) throws IOException {
        Path p = rel.startsWith("/") ? Path.of(rel) : ctx.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }

    private List<String> names(List<String> sources) throws IOException {
        return BuildContext.open(ctx).resolve(sources).items().stream()
                .map(i -> i.name() + ":" + i.kind()).toList();
    }

    @Test
    void directoriesCopyTheirContentsIgnoringExcludedPaths() throws IOException {
        assertEquals(List.of("lib:DIRECTORY", "lib/util.c:FILE", "link:SYMLINK", "main.c:FILE"),
                names(List.of("src")));
        assertEquals(List.of(".dockerignore:FILE", "Dockerfile:FILE", "a.txt:FILE", "b.txt:FILE",
                "docs/keep:DIRECTORY", "docs/keep/x:FILE", "src:DIRECTORY", "src/lib:DIRECTORY",
                "src/lib/util.c:FILE", "src/link:SYMLINK", "src/main.c:FILE"), names(List.of(".")));
        assertEquals(List.of("a.txt:FILE"), names(List.of("/a.txt")));
        assertEquals(List.of("util.c:FILE"), names(List.of("./src/../src/lib/util.c")));
    }

    @Test
    void wildcards() throws IOException {
        BuildContext c = BuildContext.open(ctx);
        BuildContext.Selection s = c.resolve(List.of("*.txt"));
        assertEquals(List.of("a.txt", "b.txt"), s.items().stream().map(BuildContext.Item::name).toList());
        assertEquals(2, s.matched());
        assertEquals(List.of("main.c:FILE"), names(List.of("src/*.c")));
        assertEquals(List.of("x:FILE"), names(List.of("docs/*/x")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.resolve(List.of("*.key")));
        assertEquals("no file in the build context matches \"*.key\"", e.getMessage());
    }

    @Test
    void destinationRule() throws IOException {
        BuildContext c = BuildContext.open(ctx);
        c.resolve(List.of("a.txt")).checkDestination("/file");
        c.resolve(List.of("*.txt")).checkDestination("/dir/");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.resolve(List.of("*.txt")).checkDestination("/dir"));
        assertEquals("copying 2 sources needs a destination directory ending with '/', not \"/dir\"", e.getMessage());
        Instruction copy = Dockerfile.parse("FROM x\nCOPY a.txt b.txt /dir\n", "Dockerfile")
                .stages().getFirst().instructions().getFirst();
        DockerfileException d = assertThrows(DockerfileException.class, () -> c.resolve(copy, "Dockerfile"));
        assertEquals("Dockerfile:2: COPY: copying 2 sources needs a destination directory ending with '/', not \"/dir\"",
                d.getMessage());
    }

    @Test
    void escapesAndMissingSourcesRefused() throws IOException {
        Files.createSymbolicLink(ctx.resolve("out"), dir.resolve("outside"));
        Files.createSymbolicLink(ctx.resolve("updir"), dir);
        BuildContext c = BuildContext.open(ctx);
        assertRefused(c, "../outside", "source \"../outside\" is outside the build context");
        assertRefused(c, "src/../../outside", "source \"src/../../outside\" is outside the build context");
        assertRefused(c, "out", "source \"out\" leads outside the build context through a symlink (to "
                + dir.resolve("outside").toRealPath() + ")");
        assertRefused(c, "updir/outside", "source \"updir/outside\" leads outside the build context through a symlink (to "
                + dir.resolve("outside").toRealPath() + ")");
        assertRefused(c, "nope", "source \"nope\" does not exist in the build context");
        assertRefused(c, "secret.key", "source \"secret.key\" is excluded by .dockerignore");
        assertRefused(c, "docs/drop", "source \"docs/drop\" is excluded by .dockerignore");
        assertRefused(c, "https://example.com/x.tar", "source \"https://example.com/x.tar\" is a URL: Vessel builds"
                + " offline and fetches nothing from the network");
        // a symlink inside a copied directory is copied as a link, wherever it points
        assertEquals("main.c", c.resolve(List.of("src")).items().get(2).target());
    }

    private static void assertRefused(BuildContext c, String source, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.resolve(List.of(source)));
        assertEquals(message, e.getMessage());
    }

    @Test
    void digestIsStableAndFollowsContentAndModeNotTimes() throws IOException {
        List<String> src = List.of("src", "a.txt");
        Digest first = BuildContext.open(ctx).digest(src);
        assertEquals(first, BuildContext.open(ctx).digest(src));

        Files.setLastModifiedTime(ctx.resolve("src/main.c"), FileTime.fromMillis(0));
        assertEquals(first, BuildContext.open(ctx).digest(src), "mtime must not count");

        write("src/notes.md", "changed but ignored");
        write("b.txt", "not selected");
        assertEquals(first, BuildContext.open(ctx).digest(src), "ignored or unselected files must not count");

        write("src/main.c", "int main(void);");
        Digest content = BuildContext.open(ctx).digest(src);
        assertNotEquals(first, content);

        Files.setPosixFilePermissions(ctx.resolve("src/main.c"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Digest mode = BuildContext.open(ctx).digest(src);
        assertNotEquals(content, mode);

        Files.delete(ctx.resolve("src/link"));
        Files.createSymbolicLink(ctx.resolve("src/link"), Path.of("lib/util.c"));
        Digest link = BuildContext.open(ctx).digest(src);
        assertNotEquals(mode, link);

        Files.move(ctx.resolve("src/lib/util.c"), ctx.resolve("src/lib/util2.c"));
        assertNotEquals(link, BuildContext.open(ctx).digest(src), "a rename must count");
    }

    @Test
    void addDetectsLocalArchives() throws IOException {
        byte[] tar = tar("hello.txt", "hi");
        Files.write(ctx.resolve("a.tar"), tar);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (OutputStream o = new GZIPOutputStream(gz)) {
            o.write(tar);
        }
        Files.write(ctx.resolve("a.tar.gz"), gz.toByteArray());
        ByteArrayOutputStream plainGz = new ByteArrayOutputStream();
        try (OutputStream o = new GZIPOutputStream(plainGz)) {
            o.write("just text".getBytes(StandardCharsets.UTF_8));
        }
        Files.write(ctx.resolve("text.gz"), plainGz.toByteArray());
        BuildContext c = BuildContext.open(ctx);
        assertEquals(BuildContext.Archive.TAR, c.resolve(List.of("a.tar")).items().getFirst().archive());
        assertEquals(BuildContext.Archive.GZIP, c.resolve(List.of("a.tar.gz")).items().getFirst().archive());
        assertEquals(BuildContext.Archive.NONE, c.resolve(List.of("text.gz")).items().getFirst().archive());
        assertEquals(BuildContext.Archive.NONE, c.resolve(List.of("a.txt")).items().getFirst().archive());
    }

    /** One ustar entry and the end-of-archive blocks. */
    private static byte[] tar(String name, String content) {
        byte[] data = content.getBytes(StandardCharsets.UTF_8);
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", data.length));
        put(h, 136, "00000000000");
        h[156] = '0';
        put(h, 257, "ustar");
        h[262] = 0;
        put(h, 263, "00");
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        int sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(h);
        out.writeBytes(data);
        out.writeBytes(new byte[512 - data.length % 512 + 1024]);
        return out.toByteArray();
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    @Test
    void dockerfileAndDockerignoreMayBeExcludedFromCopiesButAreStillRead() throws IOException {
        write(".dockerignore", "Dockerfile\n.dockerignore\n*.key\n");
        BuildContext c = BuildContext.open(ctx);
        assertEquals(3, c.ignore().rules().size());
        assertEquals(List.of("a.txt:FILE", "b.txt:FILE"), names(List.of(".")).subList(0, 2));
        assertEquals("FROM busybox\n", Files.readString(ctx.resolve("Dockerfile")));
    }
}
