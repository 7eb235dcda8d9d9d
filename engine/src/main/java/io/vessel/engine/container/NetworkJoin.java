package io.vessel.engine.container;

import java.nio.file.Path;

/**
 * How a container's bundle joins the network, decided by the engine (which connects it first)
 * and given to {@link BundleMaker}: the bundle maker only writes what the decision says into
 * {@code config.json}, so it never touches the kernel's networking itself.
 */
public sealed interface NetworkJoin {
    /** The host's network namespace, with the host's {@code /etc/hosts} and resolvers ({@code --network host}). */
    record Host() implements NetworkJoin {
    }

    /**
     * A namespace the runtime makes when the container starts, with loopback only: for bundles made
     * without the engine's networks.
     */
    record Private() implements NetworkJoin {
    }

    /**
     * Join the namespace pinned at {@code netns}. {@code hosts} and {@code resolvConf} are files to
     * bind-mount (kept up to date by whoever owns them), or null for files of the container's own
     * (localhost only; the host's resolvers without loopback ones). {@code hostname}, when not
     * null, is imposed (a container sharing another's namespace has that one's name).
     */
    record Namespace(Path netns, Path hosts, Path resolvConf, String hostname) implements NetworkJoin {
    }
}
