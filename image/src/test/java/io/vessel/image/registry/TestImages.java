package io.vessel.image.registry;

import io.vessel.image.Digest;
import io.vessel.image.layer.TestLayers;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Index;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.oci.Platform;
import io.vessel.image.store.BlobStore;
import io.vessel.json.Json;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Makes images in a {@link BlobStore}: random tar layers (gzip unless large), a config, a manifest. */
final class TestImages {
    /** Layers at least this big are stored uncompressed (random data does not compress anyway). */
    private static final int PLAIN_ABOVE = 512 * 1024;

    private TestImages() {
    }

    record TestImage(Descriptor manifest, Descriptor config, List<Descriptor> layers) {
        List<Digest> blobs() {
            List<Digest> all = new ArrayList<>();
            all.add(manifest.digest());
            all.add(config.digest());
            layers.forEach(l -> all.add(l.digest()));
            return all;
        }
    }

    static TestImage image(BlobStore store, Platform platform, long seed, int... layerSizes) throws IOException {
        List<Descriptor> layers = new ArrayList<>();
        List<String> diffIds = new ArrayList<>();
        for (int i = 0; i < layerSizes.length; i++) {
            byte[] tar = TestLayers.randomTar("file" + i, layerSizes[i], seed * 100 + i);
            diffIds.add(Digest.of(tar).toString());
            boolean plain = layerSizes[i] >= PLAIN_ABOVE;
            byte[] blob = plain ? tar : TestLayers.gzip(tar);
            layers.add(put(store, plain ? MediaType.OCI_LAYER : MediaType.OCI_LAYER_GZIP, blob));
        }
        Map<String, Object> config = Map.of(
                "architecture", platform.architecture(), "os", platform.os(),
                "config", Map.of("Cmd", List.of("/bin/sh"), "Env", List.of("SEED=" + seed)),
                "rootfs", Map.of("type", ImageConfig.ROOTFS_LAYERS, "diff_ids", diffIds));
        Descriptor cfg = put(store, MediaType.OCI_CONFIG, Json.write(config).getBytes(StandardCharsets.UTF_8));
        Manifest m = new Manifest(2, MediaType.OCI_MANIFEST, cfg, layers, Map.of());
        Descriptor md = put(store, MediaType.OCI_MANIFEST, Json.write(m.toJson()).getBytes(StandardCharsets.UTF_8));
        return new TestImage(new Descriptor(md.mediaType(), md.digest(), md.size(), List.of(), Map.of(), platform), cfg,
                layers);
    }

    static Descriptor index(BlobStore store, List<TestImage> images) throws IOException {
        Index index = new Index(2, MediaType.OCI_INDEX, images.stream().map(TestImage::manifest).toList(), Map.of());
        return put(store, MediaType.OCI_INDEX, Json.write(index.toJson()).getBytes(StandardCharsets.UTF_8));
    }

    static Descriptor put(BlobStore store, String mediaType, byte[] bytes) throws IOException {
        Digest d = store.put(new ByteArrayInputStream(bytes), Digest.of(bytes), bytes.length);
        return Descriptor.of(mediaType, d, bytes.length);
    }
}
