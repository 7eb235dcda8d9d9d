package io.vessel.image.oci;

import io.vessel.json.JsonNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An image index (OCI image spec image-index.md) or Docker manifest list: one manifest per
 * platform, plus, from BuildKit, attestation manifests with platform {@code unknown/unknown}.
 */
public record Index(int schemaVersion, String mediaType, List<Descriptor> manifests,
                    Map<String, String> annotations) implements Document {

    public Index {
        manifests = List.copyOf(manifests);
        annotations = Collections.unmodifiableMap(new LinkedHashMap<>(annotations));
    }

    /** Parses an index; errors name the field, e.g. {@code index.json: manifests[0].size is required}. */
    public static Index parse(byte[] json) {
        return from(Fields.parse("index.json", json), null);
    }

    /**
     * Reads an index from its root node.
     *
     * @param expectedType the media type it was served as, or null: used when the document has none
     */
    public static Index from(JsonNode n, String expectedType) {
        int version = Fields.schemaVersion(n);
        JsonNode mt = n.get("mediaType");
        String mediaType = Fields.mediaType(mt);
        if (mediaType != null && !MediaType.isIndex(mediaType)) {
            throw mt.fail("must be " + MediaType.OCI_INDEX + " or " + MediaType.DOCKER_MANIFEST_LIST
                    + ", not \"" + mediaType + "\"");
        }
        if (mediaType == null) {
            mediaType = expectedType != null ? expectedType : MediaType.OCI_INDEX;
        }
        JsonNode list = n.get("manifests");
        if (!list.present()) {
            throw list.fail("is required");
        }
        return new Index(version, mediaType, list.list(Descriptor::from), n.get("annotations").stringMap());
    }

    /** {@link #select(Platform)} for {@link Platform#LINUX_AMD64}. */
    public Descriptor select() {
        return select(Platform.LINUX_AMD64);
    }

    /**
     * The manifest for {@code wanted}: the first image manifest (not an attestation or nested index)
     * whose os and architecture are wanted's and, if wanted names a variant, whose variant is too.
     *
     * @throws PlatformNotFoundException listing the platforms the index has
     */
    public Descriptor select(Platform wanted) {
        List<Platform> available = new ArrayList<>();
        for (Descriptor d : manifests) {
            if (!MediaType.isManifest(d.mediaType()) || d.platform() == null || d.isAttestation()) {
                continue;
            }
            if (d.platform().satisfies(wanted)) {
                return d;
            }
            available.add(d.platform());
        }
        throw new PlatformNotFoundException(wanted, available);
    }

    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("schemaVersion", schemaVersion);
        out.put("mediaType", mediaType);
        List<Object> ms = new ArrayList<>(manifests.size());
        for (Descriptor d : manifests) {
            ms.add(d.toJson());
        }
        out.put("manifests", ms);
        Fields.putIf(out, "annotations", annotations);
        return out;
    }
}
