package io.vessel.json;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A parsed JSON value together with its path from the document root ({@code linux.uidMappings[0].size}),
 * so that every shape error names exactly the field that is wrong:
 * {@code config.json: linux.uidMappings[0].size must be a number}.
 *
 * <p>Absent members read as a node whose {@link #value()} is {@code null} and {@link #present()} is
 * false; the typed getters with a default return the default for them.
 */
public final class JsonNode {
    private final String document;
    private final String path;
    private final Object value;
    private final boolean present;

    private JsonNode(String document, String path, Object value, boolean present) {
        this.document = document;
        this.path = path;
        this.value = value;
        this.present = present;
    }

    /** The root of a document; {@code document} names it in errors, e.g. "config.json". */
    public static JsonNode root(String document, Object value) {
        return new JsonNode(document, "", value, true);
    }

    /** Parses text and returns its root node; syntax errors are prefixed with the document name. */
    public static JsonNode parse(String document, String text) {
        try {
            return root(document, Json.parse(text));
        } catch (JsonException e) {
            throw new JsonException(document + ": " + e.getMessage());
        }
    }

    public String path() {
        return path.isEmpty() ? "(root)" : path;
    }

    public Object value() {
        return value;
    }

    public boolean present() {
        return present && value != null;
    }

    /** An error about this node: "config.json: process.args must not be empty". */
    public JsonException fail(String message) {
        return new JsonException(document + ": " + path() + " " + message);
    }

    private String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** Member {@code key} of this object (absent if this node is absent). */
    public JsonNode get(String key) {
        if (!present()) {
            return new JsonNode(document, child(key), null, false);
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw fail("must be an object");
        }
        return new JsonNode(document, child(key), m.get(key), m.containsKey(key));
    }

    public boolean isObject() {
        return value instanceof Map;
    }

    public boolean isArray() {
        return value instanceof List;
    }

    /** The member names of this object, in document order (empty if absent). */
    public List<String> keys() {
        if (!present()) {
            return List.of();
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw fail("must be an object");
        }
        List<String> keys = new ArrayList<>();
        for (Object k : m.keySet()) {
            keys.add((String) k);
        }
        return keys;
    }

    /** Rejects members other than {@code allowed}; used where a typo must not pass silently. */
    public JsonNode only(String... allowed) {
        for (String k : keys()) {
            boolean ok = false;
            for (String a : allowed) {
                if (a.equals(k)) {
                    ok = true;
                    break;
                }
            }
            if (!ok) {
                throw get(k).fail("is not a known field");
            }
        }
        return this;
    }

    /**
     * This object as Go's {@code encoding/json} reads one into a struct with {@code fields}, which is
     * how dockerd reads request bodies: a member sets the field of its exact name, else the field
     * whose name equals it ignoring case; members that name no field are dropped; a null member
     * leaves its field as it was; of two members for one field the later wins. Clients depend on
     * it: docker-java sends network create's {@code EnableIPv6} a second time as {@code enableIPv6}.
     * Absent stays absent.
     */
    public JsonNode goStruct(String... fields) {
        if (!present()) {
            return this;
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw fail("must be an object");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String key = (String) e.getKey();
            String field = null;
            for (String f : fields) {
                if (f.equals(key)) {
                    field = f;
                    break;
                }
                if (field == null && f.equalsIgnoreCase(key)) {
                    field = f;
                }
            }
            if (field != null && e.getValue() != null) {
                out.put(field, e.getValue());
            }
        }
        return new JsonNode(document, path, out, true);
    }

    /** The elements of this array (empty if absent). */
    public List<JsonNode> elements() {
        if (!present()) {
            return List.of();
        }
        if (!(value instanceof List<?> l)) {
            throw fail("must be an array");
        }
        List<JsonNode> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            out.add(new JsonNode(document, path + "[" + i + "]", l.get(i), true));
        }
        return out;
    }

    public <T> List<T> list(Function<JsonNode, T> reader) {
        List<JsonNode> els = elements();
        List<T> out = new ArrayList<>(els.size());
        for (JsonNode e : els) {
            out.add(reader.apply(e));
        }
        return Collections.unmodifiableList(out);
    }

    public List<String> stringList() {
        return list(JsonNode::string);
    }

    public Map<String, String> stringMap() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String k : keys()) {
            out.put(k, get(k).string());
        }
        return Collections.unmodifiableMap(out);
    }

    public String string() {
        if (!(value instanceof String s)) {
            throw fail(present() ? "must be a string" : "is required");
        }
        return s;
    }

    public String string(String dflt) {
        return present() ? string() : dflt;
    }

    public boolean bool(boolean dflt) {
        if (!present()) {
            return dflt;
        }
        if (!(value instanceof Boolean b)) {
            throw fail("must be true or false");
        }
        return b;
    }

    /** A signed 64-bit integer. */
    public long longValue() {
        if (value instanceof Long l) {
            return l;
        }
        if (value instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9.0e18) {
            return d.longValue();
        }
        throw fail(present() ? "must be an integer in the signed 64-bit range" : "is required");
    }

    public long longValue(long dflt) {
        return present() ? longValue() : dflt;
    }

    /** An unsigned 64-bit integer, returned in a long's bits (negative means ≥ 2^63). */
    public long unsigned() {
        if (value instanceof Long l && l >= 0) {
            return l;
        }
        if (value instanceof BigInteger b && b.signum() >= 0 && b.bitLength() <= 64) {
            return b.longValue();
        }
        throw fail(present() ? "must be an integer from 0 to 2^64-1" : "is required");
    }

    public int intValue() {
        long l = longValue();
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw fail("must fit in 32 bits");
        }
        return (int) l;
    }

    public int intValue(int dflt) {
        return present() ? intValue() : dflt;
    }

    /** An integer in [min, max]. */
    public long range(long min, long max) {
        long l = longValue();
        if (l < min || l > max) {
            throw fail("must be between " + min + " and " + max + ", not " + l);
        }
        return l;
    }

    public double doubleValue() {
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        throw fail(present() ? "must be a number" : "is required");
    }
}
