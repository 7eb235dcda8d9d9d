package io.vessel.image.oci;

import io.vessel.json.JsonNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An image manifest (OCI image spec manifest.md, or Docker schema 2): the image's config and its
 * layers, bottom first, by descriptor.
 *
 * <p>{@link #from} checks that schemaVersion is 2, that the config has a known config media type,
 * and that an image (a config of {@link MediaType#isConfig}) has at least one layer. Fields the
 * records do not model are not kept.
 */
public record Manifest(int schemaVersion, String mediaType, Descriptor config, List<Descriptor> layers,
                       Map<String, String> annotations) implements Document {

    public Manifest {
        layers = List.copyOf(layers);
        annotations = Collections.unmodifiableMap(new LinkedHashMap<>(annotations));
    }

    /** Parses a manifest; errors name the field, e.g. {@code manifest.json: layers[1].digest not a digest: ...}. */
    public static Manifest parse(byte[] json) {
        return from(Fields.parse("manifest.json", json), null);
    }

    /**
     * Reads a manifest from its root node.
     *
     * @param expectedType the media type it was served as, or null: used when the document has none
     */
    public static Manifest from(JsonNode n, String expectedType) {
        int version = Fields.schemaVersion(n);
        JsonNode mt = n.get("mediaType");
        String mediaType = Fields.mediaType(mt);
        if (mediaType != null && !MediaType.isManifest(mediaType)) {
            throw mt.fail("must be " + MediaType.OCI_MANIFEST + " or " + MediaType.DOCKER_MANIFEST
                    + ", not \"" + mediaType + "\"");
        }
        if (mediaType == null) {
            mediaType = expectedType != null ? expectedType : MediaType.OCI_MANIFEST;
        }
        if (n.get("manifests").present()) {
            throw n.get("manifests").fail("belongs in an index, not in a manifest");
        }
        JsonNode configNode = n.get("config");
        if (!configNode.present()) {
            throw configNode.fail("is required");
        }
        Descriptor config = Descriptor.from(configNode);
        if (!MediaType.isConfig(config.mediaType()) && !MediaType.OCI_EMPTY.equals(config.mediaType())) {
            throw configNode.get("mediaType").fail("is not a known config type: \"" + config.mediaType() + "\" (expected "
                    + MediaType.OCI_CONFIG + " or " + MediaType.DOCKER_CONFIG + ")");
        }
        JsonNode layersNode = n.get("layers");
        if (!layersNode.present()) {
            throw layersNode.fail("is required");
        }
        List<Descriptor> layers = layersNode.list(Descriptor::from);
        if (layers.isEmpty() && MediaType.isConfig(config.mediaType())) {
            throw layersNode.fail("must not be empty: an image needs at least one layer");
        }
        return new Manifest(version, mediaType, config, layers, n.get("annotations").stringMap());
    }

    /** Whether this is a runnable image (its config is an image config), not an artifact. */
    public boolean isImage() {
        return MediaType.isConfig(config.mediaType());
    }

    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("schemaVersion", schemaVersion);
        out.put("mediaType", mediaType);
        out.put("config", config.toJson());
        List<Object> ls = new ArrayList<>(layers.size());
        for (Descriptor d : layers) {
            ls.add(d.toJson());
        }
        out.put("layers", ls);
        Fields.putIf(out, "annotations", annotations);
        return out;
    }
}
