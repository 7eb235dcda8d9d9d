package io.vessel.image.store;

import io.vessel.image.Digest;
import io.vessel.image.layer.LayerWriter;
import io.vessel.linux.Files;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static java.nio.file.Files.createDirectories;
import static java.nio.file.Files.exists;
import static java.nio.file.Files.readString;
import static java.nio.file.Files.writeString;
import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnapshotTest {
    @TempDir
    Path tmp;
    private final List<Snapshot> snapshots = new ArrayList<>();

    @AfterEach
    void unmountAll() throws IOException {
        for (Snapshot s : snapshots) {
            s.unmount();
        }
    }

    static List<String> list(Path d) throws IOException {
        try (Stream<Path> s = java.nio.file.Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static String mountinfo() throws IOException {
        return java.nio.file.Files.readString(Path.of("/proc/self/mountinfo"));
    }

    /** Three layers in overlayfs form, written as blobs and unpacked by chain ID: Docker's whiteout cases. */
    static List<Path> threeLayers(Path tmp, BlobStore blobs, LayerStore layers) throws IOException {
        Path l1 = createDirectories(tmp.resolve("src1"));
        writeString(l1.resolve("a"), "a1");
        createDirectories(l1.resolve("b"));
        writeString(l1.resolve("b/x"), "x1");
        writeString(l1.resolve("c"), "c1");
        createDirectories(l1.resolve("d"));
        writeString(l1.resolve("d/old"), "old");
        createDirectories(l1.resolve("e"));
        writeString(l1.resolve("e/f"), "f1");
        Path l2 = createDirectories(tmp.resolve("src2"));
        Files.mknod(l2.resolve("a").toString(), Files.S_IFCHR, 0); // delete a file
        Files.mknod(l2.resolve("b").toString(), Files.S_IFCHR, 0); // delete a directory
        Path l3 = createDirectories(tmp.resolve("src3"));
        createDirectories(l3.resolve("d"));
        Files.lsetxattr(l3.resolve("d").toString(), "trusted.overlay.opaque", "y".getBytes(), 0);
        writeString(l3.resolve("d/new"), "new");
        createDirectories(l3.resolve("b"));
        writeString(l3.resolve("b/y"), "y3"); // re-created under the deleted directory
        Digest parent = null;
        for (Path src : List.of(l1, l2, l3)) {
            LayerWriter.Stored s = LayerWriter.store(src, blobs, LayerWriter.Options.defaults());
            parent = layers.unpack(0, parent, s.descriptor(), s.diffId(), blobs).chainId();
        }
        return layers.lowerDirs(parent);
    }

    @Test
    void overlayOfThreeLayersHasDockerWhiteoutSemanticsAndWritesLandInUpper() throws IOException {
        BlobStore blobs = BlobStore.open(tmp.resolve("root"));
        LayerStore layers = LayerStore.open(tmp.resolve("root"));
        List<Path> lowers = threeLayers(tmp, blobs, layers);
        assertEquals(3, lowers.size());
        Path container = tmp.resolve("containers/c1");
        Snapshot snap = Snapshot.prepare(container, lowers);
        snapshots.add(snap);
        Path rootfs = createDirectories(tmp.resolve("rootfs"));
        snap.mount(rootfs, false);
        assertTrue(mountinfo().contains(" " + rootfs + " "), "mounted");

        assertEquals(List.of("b", "c", "d", "e"), list(rootfs));
        assertFalse(exists(rootfs.resolve("a"), NOFOLLOW_LINKS));
        assertEquals(List.of("y"), list(rootfs.resolve("b")), "a deleted directory re-created holds only the new");
        assertEquals(List.of("new"), list(rootfs.resolve("d")), "an opaque directory hides the layers below");
        assertEquals("c1", readString(rootfs.resolve("c")));
        assertEquals("f1", readString(rootfs.resolve("e/f")));

        writeString(rootfs.resolve("c"), "changed");
        writeString(rootfs.resolve("z"), "new file");
        java.nio.file.Files.delete(rootfs.resolve("e/f"));
        assertEquals("changed", readString(snap.upper().resolve("c")));
        assertEquals("new file", readString(snap.upper().resolve("z")));
        var whiteout = java.nio.file.Files.readAttributes(snap.upper().resolve("e/f"), "unix:mode,rdev", NOFOLLOW_LINKS);
        assertEquals(0020000, (Integer) whiteout.get("mode") & 0170000, "deleting leaves a whiteout in upper");
        assertEquals(0L, ((Number) whiteout.get("rdev")).longValue());
        assertEquals("c1", readString(lowers.getLast().resolve("c")), "lower layers are untouched");

        snap.unmount();
        assertFalse(mountinfo().contains(" " + rootfs + " "), "unmounted");
        snap.remove();
        assertFalse(exists(container, NOFOLLOW_LINKS));
        assertEquals(List.of(), list(rootfs));
    }

    @Test
    void readOnlyMountRefusesWrites() throws IOException {
        BlobStore blobs = BlobStore.open(tmp.resolve("root"));
        LayerStore layers = LayerStore.open(tmp.resolve("root"));
        Snapshot snap = Snapshot.prepare(tmp.resolve("c2"), threeLayers(tmp, blobs, layers));
        snapshots.add(snap);
        Path rootfs = createDirectories(tmp.resolve("ro"));
        snap.mount(rootfs, true);
        assertEquals("c1", readString(rootfs.resolve("c")));
        assertThrows(IOException.class, () -> writeString(rootfs.resolve("c"), "no"));
        snap.remove();
        assertFalse(mountinfo().contains(" " + rootfs + " "));
    }

    @Test
    void tooManyLayersForOnePageIsRefusedNamingTheLimit() throws IOException {
        List<Path> lowers = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            lowers.add(createDirectories(tmp.resolve("l".repeat(60) + i)));
        }
        Snapshot snap = Snapshot.prepare(tmp.resolve("c3"), lowers);
        Path rootfs = createDirectories(tmp.resolve("big"));
        IOException e = assertThrows(IOException.class, () -> snap.mount(rootfs, false));
        assertTrue(e.getMessage().contains("limit of 4095"), e.getMessage());
        snap.remove();
    }
}
