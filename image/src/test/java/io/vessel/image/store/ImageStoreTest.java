package io.vessel.image.store;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.layer.LayerWriter;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageStoreTest {
    @TempDir
    Path tmp;

    static ImageConfig config(String created, List<Digest> diffIds) {
        return new ImageConfig(created, null, "amd64", "linux", null, ImageConfig.Config.EMPTY,
                new ImageConfig.RootFs(ImageConfig.ROOTFS_LAYERS, diffIds), List.of());
    }

    /** A layer blob with one file, and its diff_id. */
    static LayerWriter.Stored layer(Path tmp, BlobStore blobs, String name, String content) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("src-" + name + "-" + System.nanoTime()));
        Files.writeString(d.resolve(name), content);
        return LayerWriter.store(d, blobs, LayerWriter.Options.reproducible(0));
    }

    static ImageStore.Image image(ImageStore store, Path tmp, String created, LayerWriter.Stored... ls)
            throws IOException {
        List<Descriptor> blobs = new ArrayList<>();
        List<Digest> diffIds = new ArrayList<>();
        for (LayerWriter.Stored l : ls) {
            blobs.add(l.descriptor());
            diffIds.add(l.diffId());
        }
        return store.writeImage(config(created, diffIds), blobs, Map.of());
    }

    @Test
    void tagsResolveByNameDigestIdAndPrefixAndSurviveReopening() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        LayerWriter.Stored base = layer(tmp, store.blobs(), "base", "b");
        ImageStore.Image img = image(store, tmp, "2024-01-01T00:00:00Z", base);
        assertEquals(List.of(), img.tags());
        store.tag(Reference.parse("busybox"), img.manifestDescriptor());
        store.tag(Reference.parse("busybox:1.36"), img.manifestDescriptor());

        ImageStore again = ImageStore.open(tmp.resolve("root"));
        for (String q : List.of("busybox", "busybox:latest", "docker.io/library/busybox:1.36",
                "busybox@" + img.manifestDescriptor().digest(), img.id().toString(), img.id().hex(),
                img.id().hex().substring(0, 12))) {
            ImageStore.Image r = again.resolve(q);
            assertEquals(img.id(), r.id(), q);
            assertEquals(List.of(Reference.parse("busybox:1.36"), Reference.parse("busybox:latest")), r.tags(), q);
        }
        ImageNotFoundException nf = assertThrows(ImageNotFoundException.class, () -> again.resolve("alpine"));
        assertEquals("No such image: alpine:latest", nf.getMessage());
        assertThrows(ImageNotFoundException.class, () -> again.resolve("busybox:nope"));
        assertEquals(List.of(LayerStore.chainId(null, base.diffId())), img.chainIds());
    }

    @Test
    void anAmbiguousIdPrefixListsTheCandidates() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        LayerWriter.Stored base = layer(tmp, store.blobs(), "base", "b");
        Map<Character, ImageStore.Image> byFirst = new java.util.HashMap<>();
        ImageStore.Image a = null;
        ImageStore.Image b = null;
        for (int i = 0; a == null; i++) {
            ImageStore.Image img = image(store, tmp, "2024-01-01T00:00:" + String.format("%02d", i % 60) + "Z" + i, base);
            ImageStore.Image prev = byFirst.putIfAbsent(img.id().hex().charAt(0), img);
            if (prev != null) {
                a = prev;
                b = img;
            }
        }
        String prefix = "sha256:" + a.id().hex().charAt(0);
        ImageConflictException e = assertThrows(ImageConflictException.class, () -> store.resolve(prefix));
        assertTrue(e.candidates().contains(a.id().toString()) && e.candidates().contains(b.id().toString()),
                e.getMessage());
        assertTrue(e.getMessage().contains("ambiguous"), e.getMessage());
    }

    @Test
    void removeFollowsDockersRmiRules() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        ImageStore.Image img = image(store, tmp, "2024-01-01T00:00:00Z", layer(tmp, store.blobs(), "x", "x"));
        store.tag(Reference.parse("one:a"), img.manifestDescriptor());
        store.tag(Reference.parse("one:b"), img.manifestDescriptor());
        store.tag(Reference.parse("two:latest"), img.manifestDescriptor());

        // by ID with references in two repositories: needs force
        ImageConflictException multi = assertThrows(ImageConflictException.class,
                () -> store.remove(img.id().hex().substring(0, 12), false, id -> false));
        assertTrue(multi.getMessage().contains("multiple repositories"), multi.getMessage());
        // by tag: untag only, while other tags remain
        ImageStore.Removal r = store.remove("one:a", false, id -> false);
        assertEquals(List.of(Reference.parse("one:a")), r.untagged());
        assertEquals(List.of(), r.deleted());
        store.remove("two", false, id -> false);
        // the last tag of an image a container uses: refused without force, untagged but kept with it
        ImageConflictException used = assertThrows(ImageConflictException.class,
                () -> store.remove("one:b", false, id -> id.equals(img.id())));
        assertTrue(used.getMessage().contains("used by a container"), used.getMessage());
        ImageStore.Removal forced = store.remove("one:b", true, id -> id.equals(img.id()));
        assertEquals(List.of(), forced.deleted());
        assertEquals(List.of(), store.resolve(img.id().toString()).tags(), "dangling, kept for the container");
        // no longer used: removing by ID deletes it
        ImageStore.Removal gone = store.remove(img.id().toString(), false, id -> false);
        assertEquals(List.of(img.id()), gone.deleted());
        assertThrows(ImageNotFoundException.class, () -> store.resolve(img.id().toString()));
    }

    @Test
    void layersAreSharedCountedAndCollectedByGc() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        LayerWriter.Stored base = layer(tmp, store.blobs(), "base", "base");
        LayerWriter.Stored top1 = layer(tmp, store.blobs(), "one", "1");
        LayerWriter.Stored top2 = layer(tmp, store.blobs(), "two", "2");
        ImageStore.Image one = image(store, tmp, "2024-01-01T00:00:01Z", base, top1);
        ImageStore.Image two = image(store, tmp, "2024-01-01T00:00:02Z", base, top2);
        store.tag(Reference.parse("one"), one.manifestDescriptor());
        store.tag(Reference.parse("two"), two.manifestDescriptor());
        store.unpack(one);
        store.unpack(two);
        Map<Digest, Integer> uses = new java.util.HashMap<>();
        for (ImageStore.LayerUse u : store.layers()) {
            uses.put(u.layer().chainId(), u.images());
        }
        assertEquals(Map.of(one.chainIds().get(0), 2, one.chainIds().get(1), 1, two.chainIds().get(1), 1), uses);
        assertEquals(0, store.gc(Set.of()).blobs(), "everything is reachable");

        // a container of image one keeps its layers through removal of the image
        store.remove("one", false, id -> false);
        ImageStore.Freed freed = store.gc(Set.of(one.topChainId()));
        assertEquals(0, freed.layers());
        assertEquals(3, freed.blobs(), "config, manifest and top layer blob of image one");
        assertTrue(store.layerStore().get(one.topChainId()).isPresent());
        assertTrue(store.blobs().exists(base.descriptor().digest()), "shared with image two");

        ImageStore.Freed second = store.gc(Set.of());
        assertEquals(1, second.layers());
        assertTrue(second.bytes() > 0);
        assertFalse(store.layerStore().get(one.topChainId()).isPresent());
        assertTrue(store.layerStore().get(one.chainIds().get(0)).isPresent(), "base still used by two");
        assertEquals(two.id(), store.resolve("two").id());
    }

    @Test
    void aDiffIdThatDoesNotMatchTheConfigIsRefusedAndNothingKept() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        LayerWriter.Stored a = layer(tmp, store.blobs(), "a", "a");
        LayerWriter.Stored b = layer(tmp, store.blobs(), "b", "b");
        LayerStore layers = store.layerStore();
        VerificationException e = assertThrows(VerificationException.class,
                () -> layers.unpack(List.of(a.descriptor(), b.descriptor()), List.of(a.diffId(), a.diffId()),
                        store.blobs()));
        assertTrue(e.getMessage().contains("layer 1") && e.getMessage().contains(b.diffId().toString())
                && e.getMessage().contains("rootfs.diff_ids[1] is " + a.diffId()), e.getMessage());
        assertEquals(1, layers.list().size(), "only the good base layer");
        try (Stream<Path> s = Files.list(tmp.resolve("root/layers"))) {
            assertEquals(List.of(".locks", a.diffId().hex()), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aLayerUnpackedAheadOfItsParentCompletesItsChainWhenTheParentArrives() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        LayerWriter.Stored a = layer(tmp, store.blobs(), "a", "a");
        LayerWriter.Stored b = layer(tmp, store.blobs(), "b", "b");
        LayerStore layers = store.layerStore();
        List<Descriptor> blobs = List.of(a.descriptor(), b.descriptor());
        List<Digest> diffIds = List.of(a.diffId(), b.diffId());
        Digest top = LayerStore.chainIds(diffIds).getLast();

        LayerStore.Layer upper = layers.unpackAhead(blobs, diffIds, 1, store.blobs()); // as a pull does, if b arrives first
        assertEquals(top, upper.chainId());
        assertEquals(a.diffId(), upper.parent());
        assertThrows(NoSuchFileException.class, () -> layers.lowerDirs(top), "the chain is not complete yet");

        LayerStore.Layer lower = layers.unpackAhead(blobs, diffIds, 0, store.blobs());
        assertEquals(List.of(upper.diff(), lower.diff()), layers.lowerDirs(top));
        assertEquals("b", Files.readString(upper.diff().resolve("b")));
        assertEquals(upper, layers.unpackAhead(blobs, diffIds, 1, store.blobs()), "unpacked once");
    }

    @Test
    void commitLayerMovesTheUpperDirInWithoutCopying() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        LayerWriter.Stored base = layer(tmp, store.blobs(), "base", "base");
        LayerStore.Layer baseLayer = store.layerStore().unpack(0, null, base.descriptor(), base.diffId(), store.blobs());
        Path upper = Files.createDirectories(tmp.resolve("root/containers/c/upper"));
        Files.writeString(upper.resolve("added"), "by the build");
        Object inode = Files.getAttribute(upper.resolve("added"), "unix:ino");
        LayerStore.Layer l = store.commitLayer(upper, baseLayer.chainId());
        assertFalse(Files.exists(upper));
        assertEquals(inode, Files.getAttribute(l.diff().resolve("added"), "unix:ino"), "moved, not copied");
        assertEquals(baseLayer.chainId(), l.parent());
        assertEquals(LayerStore.chainId(baseLayer.chainId(), l.diffId()), l.chainId());
        ImageStore.Image img = store.writeImage(config("2024-01-01T00:00:00Z", List.of(base.diffId(), l.diffId())),
                List.of(base.descriptor(), l.blob()), Map.of());
        assertEquals(l.chainId(), img.topChainId());
        assertEquals(List.of(l.diff(), baseLayer.diff()), store.layerStore().lowerDirs(img.topChainId()));
    }

    @Test
    void openRemovesLeftoversOfDeadProcesses() throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("root"));
        Path deadTmp = Files.createDirectories(tmp.resolve("root/layers/.tmp-999999999-x/diff"));
        Path liveTmp = Files.createDirectories(tmp.resolve("root/layers/.tmp-" + ProcessHandle.current().pid() + "-y"));
        Path deadState = Files.writeString(tmp.resolve("root/.images.json.999999999-z"), "{");
        ImageStore.open(tmp.resolve("root"));
        assertFalse(Files.exists(deadTmp.getParent()));
        assertFalse(Files.exists(deadState));
        assertTrue(Files.exists(liveTmp));
        assertEquals(List.of(), store.images());
    }
}
