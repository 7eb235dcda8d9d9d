package io.vessel.image.oci;

import io.vessel.image.Digest;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Readers and writers of the fields that image documents share. */
final class Fields {
    /** The only schemaVersion of manifests and indexes, OCI and Docker schema 2 alike. */
    static final int SCHEMA_VERSION = 2;

    private Fields() {
    }

    /** A required digest; "manifest.json: layers[1].digest not a digest: ...". */
    static Digest digest(JsonNode n) {
        String text = n.string();
        try {
            return Digest.parse(text);
        } catch (IllegalArgumentException e) {
            throw n.fail(e.getMessage());
        }
    }

    /** A required "schemaVersion": 2. */
    static int schemaVersion(JsonNode root) {
        JsonNode v = root.get("schemaVersion");
        long version = v.longValue();
        if (version != SCHEMA_VERSION) {
            throw v.fail("must be " + SCHEMA_VERSION + ", not " + version
                    + (version == 1 ? " (Docker schema 1 is obsolete and not supported)" : ""));
        }
        return SCHEMA_VERSION;
    }

    /** A media type, {@code type/subtype} (RFC 6838), or null if absent. */
    static String mediaType(JsonNode n) {
        String t = n.string(null);
        if (t != null && (t.indexOf('/') <= 0 || t.indexOf('/') == t.length() - 1 || t.indexOf(' ') >= 0)) {
            throw n.fail("is not a media type: \"" + t + "\"");
        }
        return t;
    }

    /** Parses a document's bytes as strict UTF-8 JSON; errors are prefixed with {@code document}. */
    static JsonNode parse(String document, byte[] json) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new JsonException(document + ": not UTF-8 text");
        }
        JsonNode root = JsonNode.parse(document, text);
        if (!root.isObject()) {
            throw root.fail("must be a JSON object");
        }
        return root;
    }

    /** Puts {@code value} under {@code key} unless it is null or empty, as the specs' omitempty. */
    static void putIf(Map<String, Object> out, String key, Object value) {
        if (value == null || (value instanceof List<?> l && l.isEmpty()) || (value instanceof Map<?, ?> m && m.isEmpty())
                || (value instanceof String s && s.isEmpty())) {
            return;
        }
        out.put(key, value);
    }
}
