package io.vessel.engine.build;

import java.util.function.Function;

/**
 * Docker's word processing for the instructions that expand variables (ADD, COPY, ENV, EXPOSE,
 * FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG defaults and their flags): quotes are
 * removed, {@code $VAR} and {@code ${VAR}} replaced, and the escape character makes the next
 * character literal.
 *
 * <p>Rules, as Docker's shell lexer applies them: single quotes keep everything literally; inside
 * double quotes variables expand and the escape character only escapes {@code "}, {@code $} and
 * itself (otherwise it is kept); outside quotes the escape character drops and keeps the next
 * character literally. Modifiers: {@code ${V:-w}} (w when V is unset or empty), {@code ${V-w}}
 * (when unset), {@code ${V:+w}} (w when V is set and not empty, else empty), {@code ${V+w}} (when
 * set), {@code ${V:?msg}} and {@code ${V?msg}} (an error). An unset variable expands to nothing;
 * a {@code $} not followed by a name is kept.
 */
public final class Expander {
    private final char escape;
    private final Function<String, String> lookup;
    private String s;
    private int pos;

    /**
     * @param escape the Dockerfile's escape character ({@code \} or {@code `})
     * @param lookup a variable's value, or null when it is not set
     */
    public Expander(char escape, Function<String, String> lookup) {
        this.escape = escape;
        this.lookup = lookup;
    }

    /**
     * The word with quotes removed and variables expanded.
     *
     * @throws IllegalArgumentException on an unterminated quote or brace, a bad modifier, or
     *                                  {@code ${V?msg}} with V unset (the message says which)
     */
    public synchronized String word(String word) {
        s = word;
        pos = 0;
        return until((char) 0);
    }

    private boolean more() {
        return pos < s.length();
    }

    /** Processes until {@code stop} (outside quotes) or the end; consumes the stop character. */
    private String until(char stop) {
        StringBuilder out = new StringBuilder();
        while (more()) {
            char c = s.charAt(pos);
            if (stop != 0 && c == stop) {
                pos++;
                return out.toString();
            }
            if (c == '\'') {
                pos++;
                int end = s.indexOf('\'', pos);
                if (end < 0) {
                    throw new IllegalArgumentException("unterminated single quote in " + quoted());
                }
                out.append(s, pos, end);
                pos = end + 1;
            } else if (c == '"') {
                pos++;
                doubleQuoted(out);
            } else if (c == '$') {
                pos++;
                out.append(dollar());
            } else if (c == escape) {
                pos++;
                if (more()) {
                    out.append(s.charAt(pos++));
                }
            } else {
                out.append(c);
                pos++;
            }
        }
        if (stop != 0) {
            throw new IllegalArgumentException("missing '" + stop + "' in " + quoted());
        }
        return out.toString();
    }

    private void doubleQuoted(StringBuilder out) {
        while (more()) {
            char c = s.charAt(pos);
            if (c == '"') {
                pos++;
                return;
            }
            if (c == '$') {
                pos++;
                out.append(dollar());
            } else if (c == escape && pos + 1 < s.length()
                    && (s.charAt(pos + 1) == '"' || s.charAt(pos + 1) == '$' || s.charAt(pos + 1) == escape)) {
                out.append(s.charAt(pos + 1));
                pos += 2;
            } else {
                out.append(c);
                pos++;
            }
        }
        throw new IllegalArgumentException("unterminated double quote in " + quoted());
    }

    private String dollar() {
        if (!more()) {
            return "$";
        }
        char c = s.charAt(pos);
        if (c != '{') {
            String name = name();
            return name.isEmpty() ? "$" : value(name, "");
        }
        pos++;
        String name = name();
        if (name.isEmpty()) {
            throw new IllegalArgumentException("bad substitution: no variable name after '${' in " + quoted());
        }
        if (!more()) {
            throw new IllegalArgumentException("missing '}' in " + quoted());
        }
        char m = s.charAt(pos++);
        if (m == '}') {
            return value(name, "");
        }
        boolean colon = false;
        if (m == ':') {
            if (!more()) {
                throw new IllegalArgumentException("missing '}' in " + quoted());
            }
            colon = true;
            m = s.charAt(pos++);
        }
        if (m != '-' && m != '+' && m != '?') {
            throw new IllegalArgumentException("unsupported modifier '" + (colon ? ":" : "") + m
                    + "' in ${" + name + "} in " + quoted() + " (supported: - + ? with or without ':')");
        }
        String w = until('}');
        String v = lookup.apply(name);
        boolean set = colon ? v != null && !v.isEmpty() : v != null;
        return switch (m) {
            case '-' -> set ? v : w;
            case '+' -> set ? w : "";
            default -> {
                if (!set) {
                    throw new IllegalArgumentException(name + ": " + (w.isEmpty() ? "is not set" : w));
                }
                yield v;
            }
        };
    }

    private String value(String name, String otherwise) {
        String v = lookup.apply(name);
        return v == null ? otherwise : v;
    }

    private String name() {
        int start = pos;
        while (more()) {
            char c = s.charAt(pos);
            boolean ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || (pos > start && c >= '0' && c <= '9');
            if (!ok) {
                break;
            }
            pos++;
        }
        return s.substring(start, pos);
    }

    private String quoted() {
        return "\"" + s + "\"";
    }
}
