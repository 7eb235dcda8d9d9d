package io.vessel.engine.build;

import io.vessel.image.oci.Platform;
import java.util.Map;
import java.util.Objects;

/**
 * What the user passes to a build besides the Dockerfile and the context.
 *
 * @param buildArgs {@code --build-arg NAME=VALUE}: override ARG defaults
 * @param target    {@code --target}: the stage to build (name or index), or null for the last
 * @param platform  the platform built for and on (Vessel builds natively), for TARGETPLATFORM &amp; co
 */
public record BuildOptions(Map<String, String> buildArgs, String target, Platform platform) {
    public BuildOptions {
        buildArgs = Map.copyOf(buildArgs);
        Objects.requireNonNull(platform, "platform");
    }

    /** No build args, the last stage, linux/amd64. */
    public static BuildOptions defaults() {
        return new BuildOptions(Map.of(), null, Platform.LINUX_AMD64);
    }

    public BuildOptions withBuildArgs(Map<String, String> args) {
        return new BuildOptions(args, target, platform);
    }

    public BuildOptions withTarget(String stage) {
        return new BuildOptions(buildArgs, stage, platform);
    }
}
