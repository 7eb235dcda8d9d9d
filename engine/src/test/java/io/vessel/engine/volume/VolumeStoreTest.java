package io.vessel.engine.volume;

import io.vessel.json.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VolumeStoreTest {
    @TempDir
    Path root;

    @Test
    void createIsIdempotentAndPersisted() throws IOException {
        VolumeStore s = VolumeStore.open(root);
        Volume v = s.create("data", Map.of("app", "web"), Map.of());
        assertEquals(root.resolve("volumes/data/_data"), v.mountpoint());
        assertTrue(Files.isDirectory(v.mountpoint()));
        assertFalse(v.anonymous());
        Files.writeString(v.mountpoint().resolve("f"), "kept");
        Volume again = s.create("data", Map.of("other", "x"), Map.of());
        assertEquals(v, again, "the same name returns the existing volume");
        assertEquals("kept", Files.readString(again.mountpoint().resolve("f")));
        Map<?, ?> meta = (Map<?, ?>) Json.parse(Files.readString(root.resolve("volumes/data/volume.json")));
        assertEquals("data", meta.get("name"));
        assertEquals("local", meta.get("driver"));
        assertEquals(Map.of("app", "web"), meta.get("labels"));
        assertEquals(false, meta.get("anonymous"));
        assertEquals(v, VolumeStore.open(root).inspect("data"), "a new store reads the same volume");
    }

    @Test
    void anonymousNamesAre64Hex() throws IOException {
        Volume v = VolumeStore.open(root).create(null, Map.of(), Map.of());
        assertTrue(v.name().matches("[0-9a-f]{64}"), v.name());
        assertTrue(v.anonymous());
    }

    @Test
    void badNamesAreRefused() throws IOException {
        VolumeStore s = VolumeStore.open(root);
        for (String bad : List.of("a", "..", "../x", "a/b", "-x", ".x", "a b", "")) {
            VolumeException e = assertThrows(VolumeException.class, () -> s.create(bad, Map.of(), Map.of()), bad);
            assertEquals(VolumeException.Kind.INVALID, e.kind());
            assertTrue(e.getMessage().startsWith("\"" + bad + "\" includes invalid characters"), e.getMessage());
        }
        assertThrows(VolumeException.class, () -> s.inspect("../etc"));
        assertTrue(assertThrows(VolumeException.class, () -> s.create("ok", Map.of(), Map.of("size", "1g")))
                .getMessage().contains("invalid option \"size\""));
        assertTrue(assertThrows(VolumeException.class, () -> s.create("ok", Map.of(), Map.of("type", "ext4")))
                .getMessage().contains("needs both type and device"));
    }

    @Test
    void listFilters() throws IOException {
        VolumeStore s = VolumeStore.open(root);
        s.create("web-data", Map.of("tier", "front"), Map.of());
        s.create("db-data", Map.of("tier", "back", "backup", "yes"), Map.of());
        Volume anon = s.create(null, Map.of(), Map.of());
        s.acquire("db-data", "c1");
        assertEquals(3, s.list(VolumeStore.Filter.ALL).size());
        assertEquals(List.of("web-data"), names(s.list(new VolumeStore.Filter(List.of("web"), List.of(), null))));
        assertEquals(List.of("db-data", "web-data"), names(s.list(new VolumeStore.Filter(List.of("data"), List.of(), null))));
        assertEquals(List.of("db-data"), names(s.list(new VolumeStore.Filter(List.of(), List.of("backup"), null))));
        assertEquals(List.of("web-data"), names(s.list(new VolumeStore.Filter(List.of(), List.of("tier=front"), null))));
        assertEquals(List.of(anon.name(), "web-data"), names(s.list(new VolumeStore.Filter(List.of(), List.of(), true))));
        assertEquals(List.of("db-data"), names(s.list(new VolumeStore.Filter(List.of(), List.of(), false))));
    }

    @Test
    void removeIsRefusedWhileInUse() throws IOException {
        VolumeStore s = VolumeStore.open(root);
        s.create("shared", Map.of(), Map.of());
        s.acquire("shared", "c1");
        s.acquire("shared", "c2");
        s.acquire("shared", "c1"); // idempotent
        assertEquals(List.of("c1", "c2"), VolumeStore.open(root).inspect("shared").users(), "users are persisted");
        VolumeException e = assertThrows(VolumeException.class, () -> s.remove("shared", false));
        assertEquals(VolumeException.Kind.IN_USE, e.kind());
        assertEquals("volume shared is in use by container(s) c1, c2", e.getMessage());
        s.release("shared", "c1");
        assertEquals(List.of("shared"), s.releaseAll("c2"));
        s.remove("shared", false);
        assertFalse(Files.exists(root.resolve("volumes/shared")));
        assertEquals(VolumeException.Kind.NOT_FOUND, assertThrows(VolumeException.class, () -> s.remove("shared", false)).kind());
        s.remove("shared", true); // -f: a missing volume is not an error
        s.create("forced", Map.of(), Map.of());
        s.acquire("forced", "c3");
        s.remove("forced", true);
        assertFalse(Files.exists(root.resolve("volumes/forced")));
    }

    @Test
    void pruneRemovesUnusedAnonymousVolumesOrAllWithAll() throws IOException {
        VolumeStore s = VolumeStore.open(root);
        Volume anonUnused = s.create(null, Map.of(), Map.of());
        Files.write(anonUnused.mountpoint().resolve("blob"), new byte[3000]);
        Files.createLink(anonUnused.mountpoint().resolve("same-blob"), anonUnused.mountpoint().resolve("blob"));
        Volume anonUsed = s.create(null, Map.of(), Map.of());
        s.acquire(anonUsed.name(), "c1");
        Volume named = s.create("named", Map.of(), Map.of());
        Files.write(named.mountpoint().resolve("x"), new byte[100]);

        VolumeStore.PruneReport r = s.prune(false, VolumeStore.Filter.ALL);
        assertEquals(List.of(anonUnused.name()), r.removed());
        assertEquals(3000, r.spaceReclaimed(), "a hard-linked file counts once");
        VolumeStore.PruneReport all = s.prune(true, VolumeStore.Filter.ALL);
        assertEquals(List.of("named"), all.removed());
        assertEquals(100, all.spaceReclaimed());
        assertEquals(List.of(anonUsed.name()), names(s.list(VolumeStore.Filter.ALL)));
        try (var ds = Files.list(root.resolve("volumes/.tmp"))) {
            assertEquals(0, ds.count(), "nothing left in .tmp");
        }
    }

    @Test
    void releaseAllCanRemoveTheContainersAnonymousVolumes() throws IOException {
        VolumeStore s = VolumeStore.open(root);
        Volume mine = s.create(null, Map.of(), Map.of());
        Volume shared = s.create(null, Map.of(), Map.of());
        s.create("named", Map.of(), Map.of());
        s.acquire(mine.name(), "c1");
        s.acquire(shared.name(), "c1");
        s.acquire(shared.name(), "c2");
        s.acquire("named", "c1");
        assertEquals(List.of(mine.name(), shared.name(), "named").stream().sorted().toList(), s.releaseAll("c1", true));
        assertEquals(List.of(shared.name(), "named").stream().sorted().toList(), names(s.list(VolumeStore.Filter.ALL)),
                "the anonymous volume only c1 used is gone; the shared one and the named one stay");
    }

    @Test
    void openClearsInterruptedWork() throws IOException {
        VolumeStore.open(root);
        Files.createDirectories(root.resolve("volumes/.tmp/create-dead/_data"));
        VolumeStore s = VolumeStore.open(root);
        assertFalse(Files.exists(root.resolve("volumes/.tmp/create-dead")));
        assertEquals(List.of(), s.list(VolumeStore.Filter.ALL));
    }

    @Test
    void aCorruptVolumeJsonIsNamed() throws IOException {
        VolumeStore s = VolumeStore.open(root);
        s.create("broken", Map.of(), Map.of());
        Files.writeString(root.resolve("volumes/broken/volume.json"), "{\"name\": 3}");
        VolumeException e = assertThrows(VolumeException.class, () -> s.inspect("broken"));
        assertTrue(e.getMessage().contains("volume.json: name must be a string"), e.getMessage());
    }

    @Test
    void tmpfsDriverOptionMountsWhileInUse() throws IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
        VolumeStore s = VolumeStore.open(root);
        Volume v = s.create("fast", Map.of(), Map.of("type", "tmpfs", "o", "size=1m,mode=0700"));
        assertFalse(VolumeStore.mounted(v.mountpoint()));
        s.acquire("fast", "c1");
        s.acquire("fast", "c2");
        assertTrue(VolumeStore.mounted(v.mountpoint()));
        assertEquals("tmpfs", Files.getFileStore(v.mountpoint()).type());
        s.release("fast", "c1");
        assertTrue(VolumeStore.mounted(v.mountpoint()), "still used by c2");
        s.release("fast", "c2");
        assertFalse(VolumeStore.mounted(v.mountpoint()), "the last release unmounts");
        s.acquire("fast", "c3");
        s.remove("fast", true);
        assertFalse(VolumeStore.mounted(v.mountpoint()));
        assertFalse(Files.exists(root.resolve("volumes/fast")));
    }

    private static List<String> names(List<Volume> vs) {
        return vs.stream().map(Volume::name).toList();
    }
}
