package io.vessel.engine.network;

/**
 * A container's {@code --network}: a network to attach to (a bridge network, by name or ID), the
 * host's namespace, a namespace of its own with loopback only, or another container's.
 */
public sealed interface NetworkMode {
    /** Attach to this network (Docker's {@code default} is the {@code bridge} network). */
    record Attach(String network) implements NetworkMode {
    }

    /** Share the host's network namespace. */
    record Host() implements NetworkMode {
    }

    /** A namespace of its own with only loopback. */
    record None() implements NetworkMode {
    }

    /** Share the network namespace of container {@code container} (name or ID). */
    record Container(String container) implements NetworkMode {
    }

    /** Parses {@code --network} (HostConfig.NetworkMode); empty or "default" is the default bridge. */
    static NetworkMode parse(String mode) {
        if (mode == null || mode.isEmpty() || mode.equals("default")) {
            return new Attach(Networks.DEFAULT_NETWORK);
        }
        if (mode.equals("host")) {
            return new Host();
        }
        if (mode.equals("none")) {
            return new None();
        }
        if (mode.startsWith("container:")) {
            String c = mode.substring("container:".length());
            if (c.isEmpty()) {
                throw new IllegalArgumentException("--network container: needs a container name or ID");
            }
            return new Container(c);
        }
        return new Attach(mode);
    }
}
