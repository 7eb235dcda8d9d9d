package io.vessel.engine.api.docker;

import io.vessel.engine.api.http.ApiException;
import io.vessel.json.Json;
import io.vessel.json.JsonException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Docker's {@code filters} query parameter: a JSON object from a filter name to its values, either
 * as a map of value to {@code true} (what clients send since API 1.22) or as a list (older). Only
 * the names an endpoint knows are accepted; any other is a 400, as dockerd answers
 * ({@code invalid filter 'x'}).
 */
public record Filters(Map<String, List<String>> values) {
    public static final Filters NONE = new Filters(Map.of());

    public Filters {
        values = Map.copyOf(values);
    }

    /** Parses {@code json} (null or empty: no filters), accepting only {@code allowed} names. */
    public static Filters parse(String json, Set<String> allowed) {
        if (json == null || json.isBlank()) {
            return NONE;
        }
        Object root;
        try {
            root = Json.parse(json);
        } catch (JsonException e) {
            throw ApiException.badRequest("invalid filters: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw ApiException.badRequest("invalid filters: a JSON object of filter names is expected");
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String name = (String) e.getKey();
            if (!allowed.contains(name)) {
                throw ApiException.badRequest("invalid filter '" + name + "'");
            }
            List<String> vs = new ArrayList<>();
            switch (e.getValue()) {
                case Map<?, ?> m -> {
                    for (Map.Entry<?, ?> v : m.entrySet()) {
                        if (!(v.getValue() instanceof Boolean b)) {
                            throw ApiException.badRequest("invalid filters: the value of " + name + "." + v.getKey() + " must be true");
                        }
                        if (b) {
                            vs.add((String) v.getKey());
                        }
                    }
                }
                case List<?> l -> {
                    for (Object v : l) {
                        if (!(v instanceof String s)) {
                            throw ApiException.badRequest("invalid filters: the values of " + name + " must be strings");
                        }
                        vs.add(s);
                    }
                }
                case null, default -> throw ApiException.badRequest("invalid filters: " + name + " must be an object or a list");
            }
            out.put(name, vs);
        }
        return new Filters(out);
    }

    public List<String> get(String name) {
        return values.getOrDefault(name, List.of());
    }

    public boolean has(String name) {
        return values.containsKey(name) && !values.get(name).isEmpty();
    }

    /** A boolean filter ({@code dangling=true}); null when absent; anything but true/false/1/0 is a 400. */
    public Boolean bool(String name) {
        List<String> v = get(name);
        if (v.isEmpty()) {
            return null;
        }
        if (v.size() > 1) {
            throw ApiException.badRequest("invalid filter '" + name + "': only one value is allowed");
        }
        return switch (v.getFirst().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw ApiException.badRequest("invalid filter '" + name + "=" + v.getFirst() + "'");
        };
    }

    /**
     * Whether {@code labels} match every {@code label} filter: {@code key} (present) or
     * {@code key=value} (equal), and no {@code key!=value}.
     */
    public boolean labelsMatch(String filter, Map<String, String> labels) {
        for (String f : get(filter)) {
            int ne = f.indexOf("!=");
            int eq = f.indexOf('=');
            if (ne > 0) {
                if (f.substring(ne + 2).equals(labels.get(f.substring(0, ne)))) {
                    return false;
                }
            } else if (eq > 0) {
                if (!f.substring(eq + 1).equals(labels.get(f.substring(0, eq)))) {
                    return false;
                }
            } else if (!labels.containsKey(f)) {
                return false;
            }
        }
        return true;
    }

    /** A shell-style pattern ({@code *} within a path segment, {@code ?} one character) as Go's path.Match. */
    public static Pattern glob(String pattern) {
        StringBuilder re = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            switch (c) {
                case '*' -> re.append("[^/]*");
                case '?' -> re.append("[^/]");
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }
}
