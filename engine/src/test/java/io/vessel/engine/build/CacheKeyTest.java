package io.vessel.engine.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vessel.image.Digest;
import io.vessel.image.oci.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keys of a whole stage, computed as the executor will: step by step along the parent chain. */
class CacheKeyTest {
    private static final String BASE_ID = "sha256:" + "ab".repeat(32);
    private static final String DOCKERFILE = """
            FROM busybox
            ARG VERSION=1
            ENV APP=/app
            WORKDIR $APP
            COPY conf/ conf/
            RUN echo $VERSION > version
            COPY main.sh .
            RUN chmod +x main.sh
            CMD ["./main.sh"]
            """;

    @TempDir
    Path ctx;

    private List<CacheKey> keys(String dockerfile, Map<String, String> buildArgs) throws IOException {
        BuildPlan plan = BuildPlan.of(Dockerfile.parse(dockerfile, "Dockerfile"),
                new BuildOptions(buildArgs, null, Platform.LINUX_AMD64));
        BuildContext context = BuildContext.open(ctx);
        StageState state = plan.start(List.of("PATH=/bin"), null, null);
        String parent = BASE_ID;
        List<CacheKey> out = new ArrayList<>();
        for (Instruction i : plan.target().stage().instructions()) {
            Step step = state.step(i);
            Digest content = step.expanded() instanceof Instruction.Copy
                    ? context.resolve(step.expanded(), "Dockerfile").digest() : null;
            CacheKey key = CacheKey.of(parent, step, content);
            out.add(key);
            parent = key.toString();
        }
        return out;
    }

    private void files() throws IOException {
        Files.createDirectories(ctx.resolve("conf"));
        Files.writeString(ctx.resolve("conf/app.ini"), "a=1\n");
        Files.writeString(ctx.resolve("main.sh"), "#!/bin/sh\necho hi\n");
    }

    @Test
    void sameDockerfileAndContextSameKeys() throws IOException {
        files();
        List<CacheKey> first = keys(DOCKERFILE, Map.of());
        assertEquals(8, first.size());
        assertEquals(first, keys(DOCKERFILE, Map.of()));
        // spelling, comments and blank lines do not change the keys
        String respelled = "from busybox\n# hi\n\narg VERSION=1\nenv APP=/app\nworkdir $APP\ncopy conf/ \\\n conf/\n"
                + "run echo $VERSION > version\ncopy main.sh .\nrun chmod +x main.sh\ncmd [\"./main.sh\"]\n";
        assertEquals(first, keys(respelled, Map.of()));
    }

    @Test
    void changingACopiedFileChangesThatStepAndEveryLaterOne() throws IOException {
        files();
        List<CacheKey> before = keys(DOCKERFILE, Map.of());
        Files.writeString(ctx.resolve("main.sh"), "#!/bin/sh\necho changed\n");
        List<CacheKey> after = keys(DOCKERFILE, Map.of());
        assertEquals(before.subList(0, 5), after.subList(0, 5));
        for (int i = 5; i < 8; i++) {
            assertNotEquals(before.get(i), after.get(i), "step " + i);
        }
    }

    @Test
    void buildArgsChangeTheRunsThatSeeThem() throws IOException {
        files();
        List<CacheKey> before = keys(DOCKERFILE, Map.of());
        List<CacheKey> after = keys(DOCKERFILE, Map.of("VERSION", "2"));
        assertEquals(before.subList(0, 4), after.subList(0, 4));
        assertNotEquals(before.get(4), after.get(4)); // the RUN sees VERSION
        // a proxy arg the Dockerfile does not declare leaves every key alone, as in Docker
        assertEquals(before, keys(DOCKERFILE, Map.of("HTTP_PROXY", "http://127.0.0.1:3128")));
    }

    @Test
    void copyNeedsItsContentDigest() {
        Dockerfile df = Dockerfile.parse("FROM x\nCOPY a b\n", "Dockerfile");
        BuildPlan plan = BuildPlan.of(df, BuildOptions.defaults());
        Step step = plan.start(List.of(), null, null).step(plan.target().stage().instructions().getFirst());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CacheKey.of(CacheKey.SCRATCH, step, null));
        assertEquals("COPY at line 2 needs the digest of its sources for its cache key", e.getMessage());
    }
}
