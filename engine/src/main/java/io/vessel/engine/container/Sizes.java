package io.vessel.engine.container;

import java.util.Locale;

/** Byte sizes as Docker's command line writes them: {@code 64m}, {@code 1g}, {@code 512k}, {@code 100}, {@code 2GB}. */
public final class Sizes {
    private Sizes() {
    }

    /**
     * Parses a size: a decimal number (a fraction is allowed) with an optional binary suffix
     * {@code b k m g t p}, optionally followed by {@code b} ({@code 64mb}); case is ignored.
     *
     * @param what names the option in the error, e.g. {@code --memory}
     */
    public static long parse(String what, String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        long unit = 1;
        if (!s.isEmpty()) {
            char c = s.charAt(s.length() - 1);
            int shift = "kmgtp".indexOf(c);
            if (shift >= 0) {
                unit = 1L << (10 * (shift + 1));
                s = s.substring(0, s.length() - 1);
            }
        }
        if (s.isEmpty() || !s.matches("[0-9]+(\\.[0-9]+)?")) {
            throw new IllegalArgumentException(what + ": invalid size \"" + text
                    + "\": expected a number with an optional unit b, k, m, g, t or p");
        }
        double v = Double.parseDouble(s) * unit;
        if (v >= Long.MAX_VALUE) {
            throw new IllegalArgumentException(what + ": size \"" + text + "\" is too large");
        }
        return (long) v;
    }
}
