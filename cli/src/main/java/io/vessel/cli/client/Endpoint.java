package io.vessel.cli.client;

import java.nio.file.Path;

/**
 * Which daemon a command talks to: its socket, and the root and run directory a daemon started on
 * demand for it gets.
 *
 * @param explicitSocket the socket was chosen ({@code -H}, {@code VESSEL_HOST}) rather than derived
 *                       from the run directory; the daemon is then told to serve that one only
 */
public record Endpoint(Path socket, Path root, Path runDir, boolean explicitSocket) {
    public static final String UNIX_SCHEME = "unix://";

    /** Parses {@code unix:///path}; anything else is an error naming what is served. */
    public static Path parseHost(String host) {
        if (!host.startsWith(UNIX_SCHEME) || host.length() == UNIX_SCHEME.length()) {
            throw new IllegalArgumentException("host \"" + host + "\": only unix:///absolute/path sockets are supported");
        }
        Path p = Path.of(host.substring(UNIX_SCHEME.length()));
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException("host \"" + host + "\": the socket path must be absolute");
        }
        return p.normalize();
    }
}
