package io.vessel.cli.client;

import java.io.IOException;
import java.nio.file.Path;

/** Nothing answers on the daemon's socket (absent, refused, or not speaking HTTP). */
public final class DaemonUnavailable extends IOException {
    private final Path socket;

    public DaemonUnavailable(Path socket, String why, Throwable cause) {
        super("cannot connect to the Vessel daemon at unix://" + socket + ": " + why, cause);
        this.socket = socket;
    }

    public Path socket() {
        return socket;
    }
}
