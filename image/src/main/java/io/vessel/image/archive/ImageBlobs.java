package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;
import io.vessel.json.Json;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Stores a made image's config and OCI manifest once its layers are stored. */
final class ImageBlobs {
    private ImageBlobs() {
    }

    /** Stores {@code config} and a manifest over it and {@code layers}; returns the manifest's descriptor. */
    static Descriptor put(BlobStore store, ImageConfig config, Descriptor... layers) throws IOException {
        byte[] configBytes = Json.write(config.toJson()).getBytes(StandardCharsets.UTF_8);
        Digest configDigest = store.put(new ByteArrayInputStream(configBytes), null, configBytes.length);
        Manifest manifest = new Manifest(2, MediaType.OCI_MANIFEST,
                Descriptor.of(MediaType.OCI_CONFIG, configDigest, configBytes.length), List.of(layers), Map.of());
        byte[] manifestBytes = Json.write(manifest.toJson()).getBytes(StandardCharsets.UTF_8);
        Digest digest = store.put(new ByteArrayInputStream(manifestBytes), null, manifestBytes.length);
        return Descriptor.of(MediaType.OCI_MANIFEST, digest, manifestBytes.length);
    }
}
