package io.vessel.engine;

import java.nio.file.Path;
import java.util.List;

/**
 * Where the engine keeps things and whom it trusts.
 *
 * @param root               persistent state: images, layers, containers' writable layers, volumes
 *                           ({@code /var/lib/vessel}, {@code --root} or {@code $VESSEL_ROOT})
 * @param runDir             live state that a reboot forgets: the runtime's container state, bundles
 *                           ({@code /run/vessel}, {@code $VESSEL_RUN})
 * @param credentials        the registry credentials file (docker's config.json format)
 * @param insecureRegistries registries spoken to over plain HTTP although not on loopback
 */
public record EngineConfig(Path root, Path runDir, Path credentials, List<String> insecureRegistries) {
    public static final Path DEFAULT_ROOT = Path.of("/var/lib/vessel");
    public static final Path DEFAULT_RUN = Path.of("/run/vessel");

    public EngineConfig {
        root = root.toAbsolutePath().normalize();
        runDir = runDir.toAbsolutePath().normalize();
        insecureRegistries = List.copyOf(insecureRegistries);
    }

    /** The defaults, overridden by {@code VESSEL_ROOT}, {@code VESSEL_RUN}, {@code DOCKER_CONFIG}. */
    public static EngineConfig fromEnvironment() {
        String root = System.getenv("VESSEL_ROOT");
        String run = System.getenv("VESSEL_RUN");
        String dockerConfig = System.getenv("DOCKER_CONFIG");
        Path home = Path.of(System.getProperty("user.home", "/root"));
        Path creds = dockerConfig != null && !dockerConfig.isEmpty()
                ? Path.of(dockerConfig, "config.json") : home.resolve(".docker/config.json");
        String insecure = System.getenv("VESSEL_INSECURE_REGISTRIES");
        return new EngineConfig(root == null || root.isEmpty() ? DEFAULT_ROOT : Path.of(root),
                run == null || run.isEmpty() ? DEFAULT_RUN : Path.of(run), creds,
                insecure == null || insecure.isBlank() ? List.of() : List.of(insecure.trim().split("[,\\s]+")));
    }

    public EngineConfig withRoot(Path newRoot) {
        return new EngineConfig(newRoot, runDir, credentials, insecureRegistries);
    }

    /** Where the OCI runtime keeps its state for the engine's containers. */
    public Path runtimeRoot() {
        return runDir.resolve("runtime");
    }

    public Path containersDir() {
        return root.resolve("containers");
    }
}
