package io.vessel.engine.container;

import java.util.ArrayList;
import java.util.List;

/**
 * The resolv.conf a container with its own network namespace gets: the host's, without the
 * nameservers on loopback (a 127.0.0.53 stub resolver on the host is unreachable from another
 * network namespace), and Google's public servers if none remain, as Docker does.
 */
public final class ResolvConf {
    static final List<String> FALLBACK = List.of("nameserver 8.8.8.8", "nameserver 8.8.4.4");

    private ResolvConf() {
    }

    public static String forContainer(String host) {
        List<String> out = new ArrayList<>();
        boolean nameserver = false;
        for (String line : host.split("\n")) {
            String t = line.strip();
            String[] f = t.split("\\s+");
            if (f.length >= 2 && f[0].equals("nameserver")) {
                if (loopback(f[1])) {
                    continue;
                }
                nameserver = true;
            }
            out.add(line);
        }
        while (!out.isEmpty() && out.getLast().isBlank()) {
            out.removeLast();
        }
        if (!nameserver) {
            out.addAll(FALLBACK);
        }
        return String.join("\n", out) + "\n";
    }

    private static boolean loopback(String addr) {
        String a = addr.toLowerCase(java.util.Locale.ROOT);
        int pct = a.indexOf('%');
        if (pct >= 0) {
            a = a.substring(0, pct);
        }
        return a.startsWith("127.") || a.equals("::1") || a.equals("0:0:0:0:0:0:0:1");
    }
}
