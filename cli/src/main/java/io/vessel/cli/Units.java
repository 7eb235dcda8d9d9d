package io.vessel.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** Sizes and ages the way docker prints them ("4.26MB", "3 minutes ago"). */
final class Units {
    private static final String[] DECIMAL = {"B", "kB", "MB", "GB", "TB", "PB"};

    private Units() {
    }

    /** Decimal units with three significant digits, as docker's tables. */
    static String size(long bytes) {
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < DECIMAL.length - 1) {
            v /= 1000;
            u++;
        }
        String n = String.format(Locale.ROOT, "%.3g", v);
        if (n.contains(".")) {
            n = n.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return n + DECIMAL[u];
    }

    static String ago(Instant then) {
        if (then == null) {
            return "N/A";
        }
        Duration d = Duration.between(then, Instant.now());
        long s = Math.max(0, d.getSeconds());
        if (s < 1) {
            return "Less than a second ago";
        }
        if (s < 60) {
            return s + " second" + (s == 1 ? "" : "s") + " ago";
        }
        long m = s / 60;
        if (m < 60) {
            return m == 1 ? "About a minute ago" : m + " minutes ago";
        }
        long h = m / 60;
        if (h < 48) {
            return h == 1 ? "About an hour ago" : h + " hours ago";
        }
        long days = h / 24;
        if (days < 14) {
            return days + " days ago";
        }
        if (days < 60) {
            return days / 7 + " weeks ago";
        }
        if (days < 730) {
            return days / 30 + " months ago";
        }
        return days / 365 + " years ago";
    }

    /** Binary units as docker's info prints memory ("15.5GiB"). */
    static String binarySize(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        String n = String.format(Locale.ROOT, "%.4g", v);
        if (n.contains(".")) {
            n = n.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return n + units[u];
    }

    /** docker's --format CreatedAt: {@code 2024-05-01 10:00:00 +0000 UTC}. */
    static String timestamp(Instant t) {
        return java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss Z 'UTC'", Locale.ROOT)
                .format(t.atOffset(java.time.ZoneOffset.UTC));
    }

    /** Event times as docker events prints them: RFC 3339 with nine fraction digits. */
    static String nanoTimestamp(Instant t) {
        return java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.nnnnnnnnnXXX", Locale.ROOT)
                .format(t.atOffset(java.time.ZoneOffset.UTC));
    }
}
