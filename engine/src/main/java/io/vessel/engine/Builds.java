package io.vessel.engine;

import io.vessel.engine.build.BuildContext;
import io.vessel.engine.build.BuildOutput;
import io.vessel.engine.build.BuildRequest;
import io.vessel.engine.build.BuildResult;
import io.vessel.engine.build.BuildExecutor;
import io.vessel.engine.build.Dockerfile;
import io.vessel.image.store.ImageStore.Image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code vessel build}: a Dockerfile and a context into an image, Docker's classic builder's way
 * (one image per step, a step cache, its output lines). The work is done by the
 * {@code io.vessel.engine.build} package; this verb reads the Dockerfile, holds the engine's lease
 * against garbage collection while content is added, and tags the result.
 */
public final class Builds {
    private final Engine engine;

    Builds(Engine engine) {
        this.engine = engine;
    }

    /**
     * Builds {@code request}, reporting to {@code out}.
     *
     * @throws io.vessel.engine.build.DockerfileException for a Dockerfile that cannot be parsed or planned
     * @throws io.vessel.engine.build.BuildException      for a step that failed, naming its line
     * @throws NoSuchFileException                        for a missing context or Dockerfile
     */
    public BuildResult build(BuildRequest request, BuildOutput out) throws IOException {
        Path context = request.context().toAbsolutePath().normalize();
        if (!Files.isDirectory(context)) {
            throw new NoSuchFileException(context.toString(), null, "the build context is not a directory");
        }
        String name = request.dockerfile() == null || request.dockerfile().isEmpty() ? "Dockerfile" : request.dockerfile();
        Path file = context.resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "cannot read the Dockerfile");
        }
        Dockerfile dockerfile = Dockerfile.parse(Files.readString(file), name);
        BuildContext ctx = BuildContext.open(context);
        try (Engine.Lease ignored = engine.lease()) {
            BuildExecutor b = new BuildExecutor(engine, request, out, dockerfile, ctx);
            Image image = b.run();
            List<String> tags = b.tag(image);
            if (request.quiet()) {
                out.line(image.id().toString());
            } else {
                out.line("Successfully built " + image.id().hex().substring(0, 12));
                for (String t : tags) {
                    out.line("Successfully tagged " + t);
                }
            }
            return new BuildResult(image.id(), tags, b.totalSteps(), b.cachedSteps());
        }
    }
}
