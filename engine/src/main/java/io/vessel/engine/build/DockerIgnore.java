package io.vessel.engine.build;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The rules of a {@code .dockerignore}: which paths of the build context a build does not see.
 *
 * <p>Docker's semantics: one pattern a line, blanks around it trimmed; {@code #} lines are
 * comments; a leading {@code !} makes an exception (the path is included again). Patterns are
 * cleaned ({@code ./a/../b} is {@code b}, a leading {@code /} dropped) and matched against the
 * slash-separated path relative to the context with Go's {@code filepath.Match} syntax
 * ({@code *} and {@code ?} within one path element, {@code [...]} classes, {@code \} escapes)
 * plus {@code **}, which matches any number of elements, none included. A pattern that matches a
 * directory also matches everything below it. The last matching pattern wins.
 */
public final class DockerIgnore {
    /** One cleaned pattern. */
    public record Rule(String pattern, boolean exception, Pattern regex) {
        boolean matches(String path) {
            return regex.matcher(path).matches();
        }
    }

    private static final DockerIgnore EMPTY = new DockerIgnore(List.of());
    private final List<Rule> rules;

    private DockerIgnore(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    /** No rules: everything is included. */
    public static DockerIgnore none() {
        return EMPTY;
    }

    /**
     * Parses {@code .dockerignore} text.
     *
     * @throws IllegalArgumentException naming the line of a pattern that is not valid (an
     *                                  unterminated {@code [} class, a lone {@code !})
     */
    public static DockerIgnore parse(String text) {
        List<Rule> rules = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String p = lines[i].strip();
            if (p.isEmpty() || p.startsWith("#")) {
                continue;
            }
            boolean exception = p.startsWith("!");
            if (exception) {
                p = p.substring(1).strip();
                if (p.isEmpty()) {
                    throw new IllegalArgumentException(".dockerignore:" + (i + 1) + ": \"!\" without a pattern");
                }
            }
            p = PathNames.clean(p);
            if (p.length() > 1 && p.startsWith("/")) {
                p = p.substring(1);
            }
            try {
                rules.add(new Rule(p, exception, compile(p)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(".dockerignore:" + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return new DockerIgnore(rules);
    }

    /** The rules of {@code context/.dockerignore}, or none when there is no such file. */
    public static DockerIgnore read(Path context) throws IOException {
        try {
            return parse(Files.readString(context.resolve(".dockerignore"), StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return none();
        }
    }

    public List<Rule> rules() {
        return rules;
    }

    /**
     * Whether the build does not see {@code path} (slash-separated, relative to the context).
     * A rule matches the path itself or one of its parent directories.
     */
    public boolean excluded(String path) {
        String p = PathNames.clean(path);
        boolean excluded = false;
        for (Rule r : rules) {
            if (r.exception() && !excluded) {
                continue; // an exception changes nothing while the path is included
            }
            boolean match = r.matches(p);
            if (!match) {
                int slash = p.indexOf('/');
                while (slash > 0 && !match) {
                    match = r.matches(p.substring(0, slash));
                    slash = p.indexOf('/', slash + 1);
                }
            }
            if (match) {
                excluded = !r.exception();
            }
        }
        return excluded;
    }

    /**
     * Whether an excluded directory must still be walked because an exception names something
     * below it (Docker walks it only when an exception pattern starts with {@code dir/}).
     */
    public boolean exceptionsBelow(String dir) {
        String prefix = PathNames.clean(dir) + "/";
        for (Rule r : rules) {
            if (r.exception() && (r.pattern() + "/").startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** Go's filepath.Match syntax plus {@code **}, as an anchored regular expression. */
    static Pattern compile(String pattern) {
        return compile(pattern, true);
    }

    /** The same without {@code **} (plain filepath.Match, as COPY's wildcards are). */
    static Pattern compile(String pattern, boolean doubleStar) {
        StringBuilder re = new StringBuilder("^");
        int n = pattern.length();
        for (int i = 0; i < n; i++) {
            char c = pattern.charAt(i);
            if (c == '*') {
                if (doubleStar && i + 1 < n && pattern.charAt(i + 1) == '*') {
                    i++;
                    if (i + 1 < n && pattern.charAt(i + 1) == '/') {
                        i++;
                    }
                    re.append(i + 1 == n ? ".*" : "(?:.*/)?");
                } else {
                    re.append("[^/]*");
                }
            } else if (c == '?') {
                re.append("[^/]");
            } else if (c == '[') {
                int end = i + 1;
                if (end < n && (pattern.charAt(end) == '^' || pattern.charAt(end) == '!')) {
                    end++;
                }
                if (end < n && pattern.charAt(end) == ']') {
                    end++;
                }
                while (end < n && pattern.charAt(end) != ']') {
                    if (pattern.charAt(end) == '\\') {
                        end++;
                    }
                    end++;
                }
                if (end >= n) {
                    throw new IllegalArgumentException("unterminated character class in \"" + pattern + "\"");
                }
                String body = pattern.substring(i + 1, end);
                boolean negate = body.startsWith("^") || body.startsWith("!");
                if (negate) {
                    body = body.substring(1);
                }
                re.append(negate ? "[^/" : "[");
                for (int k = 0; k < body.length(); k++) {
                    char b = body.charAt(k);
                    if (b == '\\' && k + 1 < body.length()) {
                        re.append('\\').append(body.charAt(++k));
                    } else if (b == '[' || b == '&' || b == '^' || b == '\\') {
                        re.append('\\').append(b);
                    } else {
                        re.append(b);
                    }
                }
                re.append(']');
                i = end;
            } else if (c == '\\' && i + 1 < n) {
                re.append(Pattern.quote(String.valueOf(pattern.charAt(++i))));
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.append('$').toString(), Pattern.DOTALL);
    }
}
