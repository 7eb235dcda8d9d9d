package io.vessel.cli.client;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** A request path with its query string, values percent-encoded. */
public final class Query {
    private final StringBuilder b;
    private boolean first = true;

    private Query(String path) {
        b = new StringBuilder(path);
    }

    public static Query path(String path) {
        return new Query(path);
    }

    /** A path segment (an image name such as {@code 127.0.0.1:5000/a/b:1} stays readable, slashes kept). */
    public static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%2F", "/").replace("%3A", ":");
    }

    /** Adds {@code key=value}; a null value adds nothing. */
    public Query add(String key, Object value) {
        if (value == null) {
            return this;
        }
        b.append(first ? '?' : '&').append(key).append('=')
                .append(URLEncoder.encode(value.toString(), StandardCharsets.UTF_8).replace("+", "%20"));
        first = false;
        return this;
    }

    /** Adds {@code key=1} when {@code on}, as docker sends its boolean parameters. */
    public Query flag(String key, boolean on) {
        return on ? add(key, "1") : this;
    }

    @Override
    public String toString() {
        return b.toString();
    }
}
