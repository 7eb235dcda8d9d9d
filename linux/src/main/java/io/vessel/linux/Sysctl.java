package io.vessel.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Kernel parameters under {@code /proc/sys}. Keys are written as paths ({@code net/ipv4/ip_forward},
 * {@code net/ipv4/conf/br-1/route_localnet}) because interface names may contain dots. Those under
 * {@code net/} belong to the network namespace of the thread that opens them.
 */
public final class Sysctl {
    private static final Path ROOT = Path.of("/proc/sys");

    private Sysctl() {
    }

    private static Path path(String key) {
        Path p = ROOT.resolve(key).normalize();
        if (!p.startsWith(ROOT) || key.startsWith("/") || key.contains("..")) {
            throw new IllegalArgumentException("sysctl key " + key + " is not a path under /proc/sys");
        }
        return p;
    }

    public static String read(String key) throws IOException {
        return java.nio.file.Files.readString(path(key), StandardCharsets.US_ASCII).strip();
    }

    /** Writes {@code value} unless the parameter already has it. */
    public static void write(String key, String value) throws IOException {
        Path p = path(key);
        try {
            if (read(key).equals(value)) {
                return;
            }
            java.nio.file.Files.writeString(p, value + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IOException("sysctl " + key + "=" + value + ": " + e.getMessage(), e);
        }
    }
}
