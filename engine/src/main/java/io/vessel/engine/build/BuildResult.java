package io.vessel.engine.build;

import io.vessel.image.Digest;
import java.util.List;

/**
 * A finished build.
 *
 * @param imageId the image's ID (its config digest)
 * @param tags    the references it was tagged with, as Docker prints them
 * @param steps   how many steps the build had
 * @param cached  how many of them the cache served
 */
public record BuildResult(Digest imageId, List<String> tags, int steps, int cached) {
    public BuildResult {
        tags = List.copyOf(tags);
    }
}
