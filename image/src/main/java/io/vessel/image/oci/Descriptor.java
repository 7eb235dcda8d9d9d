package io.vessel.image.oci;

import io.vessel.image.Digest;
import io.vessel.json.JsonNode;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reference to content by media type, digest and size (OCI image spec, descriptor.md): a
 * manifest's config and layers, an index's manifests.
 *
 * @param urls        where else the content may be fetched from (foreign layers); empty if none
 * @param annotations string metadata; empty if none
 * @param platform    the platform of the referenced manifest, in indexes; null elsewhere
 */
public record Descriptor(String mediaType, Digest digest, long size, List<String> urls,
                         Map<String, String> annotations, Platform platform) {
    /** The annotation BuildKit puts on attestation manifests in an index (with platform unknown/unknown). */
    public static final String REFERENCE_TYPE = "vnd.docker.reference.type";
    public static final String ATTESTATION_MANIFEST = "attestation-manifest";

    public Descriptor {
        if (mediaType == null || digest == null) {
            throw new IllegalArgumentException("a descriptor needs a media type and a digest");
        }
        if (size < 0) {
            throw new IllegalArgumentException("a descriptor's size must be >= 0, not " + size);
        }
        urls = urls == null ? List.of() : List.copyOf(urls);
        annotations = annotations == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(annotations));
    }

    /** A plain descriptor with no urls, annotations or platform. */
    public static Descriptor of(String mediaType, Digest digest, long size) {
        return new Descriptor(mediaType, digest, size, List.of(), Map.of(), null);
    }

    public static Descriptor from(JsonNode n) {
        String mediaType = Fields.mediaType(n.get("mediaType"));
        if (mediaType == null) {
            throw n.get("mediaType").fail("is required");
        }
        JsonNode size = n.get("size");
        long bytes = size.longValue();
        if (bytes < 0) {
            throw size.fail("must be >= 0, not " + bytes);
        }
        return new Descriptor(
                mediaType,
                Fields.digest(n.get("digest")),
                bytes,
                n.get("urls").stringList(),
                n.get("annotations").stringMap(),
                n.get("platform").present() ? Platform.from(n.get("platform")) : null);
    }

    /** Whether this is a BuildKit attestation (SBOM, provenance) rather than a runnable image. */
    public boolean isAttestation() {
        return ATTESTATION_MANIFEST.equals(annotations.get(REFERENCE_TYPE));
    }

    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mediaType", mediaType);
        out.put("digest", digest.toString());
        out.put("size", size);
        Fields.putIf(out, "urls", urls);
        Fields.putIf(out, "annotations", annotations);
        if (platform != null) {
            out.put("platform", platform.toJson());
        }
        return out;
    }
}
