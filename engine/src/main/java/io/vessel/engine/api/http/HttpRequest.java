package io.vessel.engine.api.http;

import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One parsed request: its line, headers, query and a body stream framed by Content-Length or
 * chunked encoding. Path parameters are filled in by the {@link Router}. The body is read at most
 * once, either as a stream or, bounded by {@link Limits#maxJsonBody}, into memory.
 */
public final class HttpRequest {
    private final String method;
    private final String target;
    private final String path;
    private final Map<String, List<String>> query;
    private final Headers headers;
    private final String protocol;
    private final InputStream body;
    private final long contentLength;
    private final Limits limits;
    private Map<String, String> params = Map.of();

    HttpRequest(String method, String target, String protocol, Headers headers, InputStream body, long contentLength,
                Limits limits) {
        this.method = method;
        this.target = target;
        this.protocol = protocol;
        this.headers = headers;
        this.body = body;
        this.contentLength = contentLength;
        this.limits = limits;
        int q = target.indexOf('?');
        String rawPath = q < 0 ? target : target.substring(0, q);
        this.path = decodePath(rawPath);
        this.query = q < 0 ? Map.of() : parseQuery(target.substring(q + 1));
    }

    private static String decodePath(String raw) {
        if (!raw.startsWith("/")) {
            throw ApiException.badRequest("the request target must be an absolute path: \"" + raw + "\"");
        }
        try {
            // '+' means '+' in a path (only the query uses it for a space)
            return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("malformed percent-encoding in the path \"" + raw + "\"");
        }
    }

    private static Map<String, List<String>> parseQuery(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            try {
                String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("malformed percent-encoding in the query parameter \"" + pair + "\"");
            }
        }
        return out;
    }

    public String method() {
        return method;
    }

    /** The request target as sent: path and query, still encoded. */
    public String target() {
        return target;
    }

    /** The decoded path, without the query. */
    public String path() {
        return path;
    }

    /** {@code HTTP/1.1} or {@code HTTP/1.0}. */
    public String protocol() {
        return protocol;
    }

    public Headers headers() {
        return headers;
    }

    /** The declared body length, or -1 when chunked or absent. */
    public long contentLength() {
        return contentLength;
    }

    void params(Map<String, String> p) {
        this.params = Map.copyOf(p);
    }

    /** A path parameter of the route's template, e.g. {@code name} of {@code /images/{name}/json}. */
    public String param(String name) {
        String v = params.get(name);
        if (v == null) {
            throw new IllegalStateException("the route has no parameter {" + name + "}");
        }
        return v;
    }

    public Map<String, List<String>> query() {
        return Collections.unmodifiableMap(query);
    }

    /** The first value of a query parameter, or null. */
    public String query(String name) {
        List<String> v = query.get(name);
        return v == null ? null : v.getFirst();
    }

    public String query(String name, String dflt) {
        String v = query(name);
        return v == null ? dflt : v;
    }

    public List<String> queryAll(String name) {
        return query.getOrDefault(name, List.of());
    }

    /**
     * A boolean query parameter as Docker reads them: absent → {@code dflt}; "", "0", "false", "no"
     * → false; anything else → true.
     */
    public boolean queryBool(String name, boolean dflt) {
        String v = query(name);
        if (v == null) {
            return dflt;
        }
        String s = v.trim().toLowerCase(java.util.Locale.ROOT);
        return !(s.isEmpty() || s.equals("0") || s.equals("false") || s.equals("no"));
    }

    /** An integer query parameter; a malformed one is a 400 naming it. */
    public long queryLong(String name, long dflt) {
        String v = query(name);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("query parameter " + name + " must be an integer, not \"" + v + "\"");
        }
    }

    /** The body as a stream; the server discards what the handler leaves unread. */
    public InputStream body() {
        return body;
    }

    /** The whole body in memory, refused with 413 beyond {@link Limits#maxJsonBody}. */
    public byte[] readBody() throws IOException {
        int max = limits.maxJsonBody();
        if (contentLength > max) {
            throw new ApiException(Status.PAYLOAD_TOO_LARGE, "the request body of " + contentLength
                    + " bytes exceeds the limit of " + max + " bytes");
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int n;
        while ((n = body.read(chunk)) > 0) {
            if (buf.size() + n > max) {
                throw new ApiException(Status.PAYLOAD_TOO_LARGE, "the request body exceeds the limit of " + max + " bytes");
            }
            buf.write(chunk, 0, n);
        }
        return buf.toByteArray();
    }

    /**
     * The body as a JSON document, with its paths named after {@code what}; an empty body is an
     * empty object when {@code emptyAllowed}. Malformed JSON is a 400 saying where.
     */
    public JsonNode readJson(String what, boolean emptyAllowed) throws IOException {
        String text = new String(readBody(), StandardCharsets.UTF_8);
        if (text.isBlank()) {
            if (emptyAllowed) {
                return JsonNode.root(what, new LinkedHashMap<String, Object>());
            }
            throw ApiException.badRequest(what + ": the request body is empty; a JSON object is required");
        }
        try {
            JsonNode n = JsonNode.root(what, Json.parse(text));
            if (!n.isObject()) {
                throw ApiException.badRequest(what + ": the request body must be a JSON object");
            }
            return n;
        } catch (JsonException e) {
            throw ApiException.badRequest(what + ": invalid JSON: " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return method + " " + target;
    }
}
