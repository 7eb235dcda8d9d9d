package io.vessel.engine.build;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@code vessel build} (and later the daemon's {@code POST /build}) asks for.
 *
 * @param context    the build context directory
 * @param dockerfile the Dockerfile: relative to the context, or absolute; null or empty for {@code Dockerfile}
 * @param tags       {@code -t}: references to tag the result with
 * @param buildArgs  {@code --build-arg NAME=VALUE}
 * @param noCache    {@code --no-cache}: run every step, reuse nothing
 * @param target     {@code --target}: the stage to build, or null for the last
 * @param quiet      {@code -q}: print only the image ID; RUN output goes to /dev/null
 */
public record BuildRequest(Path context, String dockerfile, List<String> tags, Map<String, String> buildArgs,
                           boolean noCache, String target, boolean quiet) {
    public BuildRequest {
        tags = List.copyOf(tags);
        buildArgs = Map.copyOf(buildArgs);
    }

    /** A plain build of {@code context}'s Dockerfile, tagged {@code tags}. */
    public static BuildRequest of(Path context, String... tags) {
        return new BuildRequest(context, null, List.of(tags), Map.of(), false, null, false);
    }

    public BuildRequest withBuildArgs(Map<String, String> args) {
        return new BuildRequest(context, dockerfile, tags, args, noCache, target, quiet);
    }

    public BuildRequest withNoCache(boolean no) {
        return new BuildRequest(context, dockerfile, tags, buildArgs, no, target, quiet);
    }

    public BuildRequest withTarget(String stage) {
        return new BuildRequest(context, dockerfile, tags, buildArgs, noCache, stage, quiet);
    }

    public BuildRequest withQuiet(boolean q) {
        return new BuildRequest(context, dockerfile, tags, buildArgs, noCache, target, q);
    }

    public BuildRequest withDockerfile(String file) {
        return new BuildRequest(context, file, tags, buildArgs, noCache, target, quiet);
    }
}
