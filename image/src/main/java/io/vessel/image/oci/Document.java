package io.vessel.image.oci;

import io.vessel.json.JsonNode;

/**
 * What a registry's manifests endpoint or an image layout's index can hold: an image
 * {@link Manifest} or an {@link Index} of manifests.
 */
public sealed interface Document permits Manifest, Index {
    /** The document's media type (OCI or Docker); never null once parsed. */
    String mediaType();

    /**
     * Parses a manifest or an index, told apart by {@code mediaTypeHint} (a descriptor's media type
     * or a Content-Type header; null or a generic type such as application/json is ignored), else by
     * the document's own mediaType field, else by its shape (a "manifests" array makes an index).
     * A hint and a field that disagree are an error: the content is not what it was said to be.
     */
    static Document parse(byte[] json, String mediaTypeHint) {
        JsonNode probe = Fields.parse("document", json);
        String declared = Fields.mediaType(probe.get("mediaType"));
        String hint = MediaType.isManifest(mediaTypeHint) || MediaType.isIndex(mediaTypeHint) ? mediaTypeHint : null;
        if (MediaType.DOCKER_SCHEMA1.equals(mediaTypeHint) || MediaType.DOCKER_SCHEMA1_SIGNED.equals(mediaTypeHint)) {
            throw new IllegalArgumentException("Docker schema 1 manifests (" + mediaTypeHint
                    + ") are obsolete and not supported; push the image again with a current client");
        }
        if (hint != null && declared != null && !hint.equals(declared)) {
            throw probe.get("mediaType").fail("is \"" + declared + "\" but the document was served as \"" + hint + "\"");
        }
        String type = hint != null ? hint : declared;
        boolean index = type != null ? MediaType.isIndex(type) : probe.get("manifests").present();
        if (type != null && !index && !MediaType.isManifest(type)) {
            throw probe.get("mediaType").fail("is not a manifest or index type: \"" + type + "\"");
        }
        return index
                ? Index.from(JsonNode.root("index.json", probe.value()), type)
                : Manifest.from(JsonNode.root("manifest.json", probe.value()), type);
    }
}
