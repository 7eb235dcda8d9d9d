package io.vessel.engine.api.docker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about the host that {@code /version} and {@code /info} report, read from /proc and /etc. */
final class Host {
    private Host() {
    }

    static String kernelVersion() {
        return read("/proc/sys/kernel/osrelease", "unknown");
    }

    static String hostname() {
        return read("/proc/sys/kernel/hostname", "localhost");
    }

    /** os-release(5)'s PRETTY_NAME. */
    static String operatingSystem() {
        for (String f : new String[]{"/etc/os-release", "/usr/lib/os-release"}) {
            try {
                for (String line : Files.readAllLines(Path.of(f))) {
                    if (line.startsWith("PRETTY_NAME=")) {
                        return line.substring(12).replaceAll("^\"|\"$", "");
                    }
                }
            } catch (IOException e) {
                // try the next
            }
        }
        return "Linux";
    }

    /** MemTotal of /proc/meminfo, in bytes. */
    static long memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown
        }
        return 0;
    }

    /** "2" on the unified hierarchy, "1" otherwise. */
    static String cgroupVersion() {
        return Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")) ? "2" : "1";
    }

    /** Docker's name for the machine's architecture (GOARCH). */
    static String arch() {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            case String other -> other;
        };
    }

    /** uname -m's name (Docker's {@code Architecture} in /info). */
    static String machine() {
        return switch (arch()) {
            case "amd64" -> "x86_64";
            case "arm64" -> "aarch64";
            case String other -> other;
        };
    }

    private static String read(String file, String dflt) {
        try {
            return Files.readString(Path.of(file)).trim();
        } catch (IOException e) {
            return dflt;
        }
    }
}
