package io.vessel.engine.api.http;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Request headers: names compared without case (RFC 9110 §5.1), repeated fields kept in order. */
public final class Headers {
    private final Map<String, List<String>> fields = new LinkedHashMap<>();

    void add(String name, String value) {
        fields.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(value);
    }

    /** The first value of {@code name}, or null. */
    public String first(String name) {
        List<String> v = fields.get(name.toLowerCase(Locale.ROOT));
        return v == null ? null : v.getFirst();
    }

    public List<String> all(String name) {
        return Collections.unmodifiableList(fields.getOrDefault(name.toLowerCase(Locale.ROOT), List.of()));
    }

    /** Whether a comma-separated header such as {@code Connection} lists {@code token}. */
    public boolean hasToken(String name, String token) {
        for (String v : all(name)) {
            for (String t : v.split(",")) {
                if (t.trim().equalsIgnoreCase(token)) {
                    return true;
                }
            }
        }
        return false;
    }
}
