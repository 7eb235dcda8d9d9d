package io.vessel.vmm.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** scripts/make-ext4.sh: the image it makes mounts (loop) and holds the tree; bad input leaves nothing. */
class MakeExt4Test {
    @TempDir
    Path dir;

    private record Run(int status, String output) {
    }

    private static Run run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish");
        }
        return new Run(p.exitValue(), out);
    }

    private static String script() {
        return RepositoryPaths.root().resolve("scripts/make-ext4.sh").toString();
    }

    @Test
    void theImageMountsWithTheTree() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a loop device needs root");
        assumeTrue(Files.exists(Path.of("/dev/loop-control")), "no loop devices (/dev/loop-control)");
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Files.createDirectories(tree.resolve("bin"));
        Files.writeString(tree.resolve("etc-greeting"), "hello from the host\n");
        byte[] blob = new byte[1 << 20];
        new Random(42).nextBytes(blob);
        Files.write(tree.resolve("bin/blob"), blob);
        Files.createSymbolicLink(tree.resolve("link"), Path.of("bin/blob"));
        Path image = dir.resolve("root.ext4");

        Run made = run(script(), tree.toString(), image.toString());
        assertEquals(0, made.status(), made.output());
        assertTrue(Files.size(image) > blob.length);
        try (var siblings = Files.list(dir)) {
            assertEquals(List.of("root.ext4", "tree"), siblings.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary file left beside the image");
        }

        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Run mount = run("mount", "-t", "ext4", "-o", "loop,ro", image.toString(), mnt.toString());
        assertEquals(0, mount.status(), mount.output());
        try {
            assertEquals("hello from the host\n", Files.readString(mnt.resolve("etc-greeting")));
            assertArrayEquals(blob, Files.readAllBytes(mnt.resolve("bin/blob")));
            assertEquals(Path.of("bin/blob"), Files.readSymbolicLink(mnt.resolve("link")));
            assertTrue(Files.isDirectory(mnt.resolve("lost+found")), "an ext4 file system");
        } finally {
            Run umount = run("umount", mnt.toString());
            assertEquals(0, umount.status(), umount.output());
        }
    }

    @Test
    void badInputIsNamedAndLeavesNoImage() throws Exception {
        Path image = dir.resolve("x.ext4");
        Run missing = run(script(), dir.resolve("nope").toString(), image.toString());
        assertNotEquals(0, missing.status());
        assertTrue(missing.output().contains("is not a directory"), missing.output());

        Path tree = Files.createDirectories(dir.resolve("tree"));
        Files.write(tree.resolve("big"), new byte[256 << 10]);
        Run tooSmall = run(script(), tree.toString(), image.toString(), "64k");
        assertNotEquals(0, tooSmall.status());
        assertTrue(tooSmall.output().contains("could not build an image"), tooSmall.output());

        List<String> left = new ArrayList<>();
        try (var files = Files.list(dir)) {
            files.forEach(p -> left.add(p.getFileName().toString()));
        }
        assertEquals(List.of("tree"), left, "no image and no temporary file");
        assertFalse(Files.exists(image));
    }
}
