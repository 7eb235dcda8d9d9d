package io.vessel.engine;

import io.vessel.engine.events.EventLog;
import io.vessel.engine.network.Networks;
import io.vessel.engine.network.NetworksConfig;
import io.vessel.engine.volume.VolumeStore;
import io.vessel.image.Digest;
import io.vessel.image.store.ImageStore;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * Vessel's engine: images, builds, volumes and containers over one state directory. Today the
 * {@code vessel} command runs it in its own process; the daemon (next) will serve the same verbs
 * over a socket, so every verb here takes and returns plain values, never a terminal.
 *
 * <p>Several engines (several {@code vessel} commands) may work on one root at once. What adds
 * content (pull, load, build, import) holds a shared lease on {@code engine.lock}; garbage
 * collection takes it exclusively, so it never deletes a blob that a pull has stored but not yet
 * tagged.
 */
public final class Engine {
    /** Manifest annotation of a build step's intermediate image: the step's cache key. */
    public static final String BUILD_STEP_ANNOTATION = "io.vessel.build.step";
    /** Manifest annotation naming the image a build step started from. */
    public static final String PARENT_ANNOTATION = "io.vessel.build.parent";

    private final EngineConfig config;
    private final ImageStore imageStore;
    private final Images images;
    private final VolumeStore volumes;
    private final Containers containers;
    private final FileChannel lockFile;
    private final EventLog events = new EventLog();

    private Engine(EngineConfig config, NetworksConfig networksConfig) throws IOException {
        this.config = config;
        this.networksConfig = networksConfig;
        Files.createDirectories(config.root());
        this.lockFile = FileChannel.open(config.root().resolve("engine.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.READ, // a shared lock needs a readable channel
                StandardOpenOption.WRITE);
        this.imageStore = ImageStore.open(config.root());
        this.images = new Images(this, imageStore);
        this.volumes = VolumeStore.open(config.root().resolve("volumes"));
        this.containers = new Containers(this);
    }

    /**
     * An engine whose networks are configured from the environment
     * ({@link NetworksConfig#fromEnvironment}); on a root other than {@link EngineConfig#DEFAULT_ROOT}
     * its bridge and nftables table have names of that root's own.
     */
    public static Engine open(EngineConfig config) throws IOException {
        return new Engine(config, NetworksConfig.fromEnvironment(config.root(), config.runDir(),
                !config.root().equals(EngineConfig.DEFAULT_ROOT)));
    }

    /** An engine with networks of the given names (tests: a bridge and nftables table of their own). */
    public static Engine open(EngineConfig config, NetworksConfig networks) throws IOException {
        return new Engine(config, networks);
    }

    public EngineConfig config() {
        return config;
    }

    public Images images() {
        return images;
    }

    public VolumeStore volumes() {
        return volumes;
    }

    public Containers containers() {
        return containers;
    }

    private final NetworksConfig networksConfig;
    private Networks networks;

    /**
     * Networks ({@code <root>/networks}, namespaces pinned under {@code <runDir>/netns}), opened on
     * first use so that commands which never touch the network do not read the routing table.
     */
    public synchronized Networks networks() throws IOException {
        if (networks == null) {
            networks = Networks.open(networksConfig);
        }
        return networks;
    }

    /** What happened to images, volumes and containers, for the daemon's {@code /events}. */
    public EventLog events() {
        return events;
    }

    /** {@code vessel build}: Dockerfile builds with a step cache. */
    public Builds builds() {
        return new Builds(this);
    }

    public Archives archives() {
        return new Archives(this, imageStore);
    }

    /** {@code docker diff}, {@code commit} and {@code export}: what containers' file systems hold. */
    public ContainerFiles containerFiles() {
        return new ContainerFiles(this, containers);
    }

    /** A shared hold on the store against garbage collection, for as long as content is added. */
    public interface Lease extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    private int leases;
    private FileLock shared;

    /** Takes a lease; leases of one engine share one file lock (the JVM allows one lock per file). */
    public synchronized Lease lease() throws IOException {
        if (leases == 0) {
            shared = lockFile.lock(0, Long.MAX_VALUE, true);
        }
        leases++;
        return () -> {
            synchronized (Engine.this) {
                if (--leases == 0) {
                    shared.release();
                    shared = null;
                }
            }
        };
    }

    /** Deletes blobs and layers that no image, build cache entry or container uses. */
    public synchronized ImageStore.Freed collectGarbage() throws IOException {
        if (leases > 0) {
            return new ImageStore.Freed(0, 0, 0);
        }
        try (FileLock ignored = lockFile.tryLock(0, Long.MAX_VALUE, false)) {
            if (ignored == null) {
                return new ImageStore.Freed(0, 0, 0); // a pull or build is under way: next time
            }
            Set<Digest> chains = containers.chainsInUse();
            return imageStore.gc(chains);
        }
    }
}
