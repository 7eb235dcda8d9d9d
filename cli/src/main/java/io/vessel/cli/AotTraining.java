package io.vessel.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The training run for the {@code vessel} command's JDK 25 AOT cache (scripts/aot-train.sh): the
 * common verbs, one after another in one JVM, in a throw-away state directory, so that the classes
 * they load and link (and the FFM call sites they bind) are ready in the cache at the next start.
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws IOException {
        Path work = Path.of(args[0]);
        Path ctx = Files.createDirectories(work.resolve("ctx"));
        Files.writeString(ctx.resolve("Dockerfile"), """
                FROM busybox
                ENV A=1
                COPY f /f
                RUN echo trained > /t
                CMD ["cat", "/t"]
                """);
        Files.writeString(ctx.resolve("f"), "f\n");
        String root = work.resolve("root").toString();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        List<List<String>> runs = List.of(
                List.of("version"),
                List.of("run", "--rm", "busybox", "true"),
                List.of("images"),
                List.of("build", "-t", "trained:1", ctx.toString()),
                List.of("build", "-t", "trained:1", ctx.toString()),
                List.of("volume", "create", "trained"),
                List.of("run", "--rm", "-v", "trained:/v", "trained:1"),
                List.of("volume", "ls"),
                List.of("save", "-o", work.resolve("t.tar").toString(), "trained:1"),
                List.of("rmi", "trained:1"),
                List.of("load", "-i", work.resolve("t.tar").toString()),
                List.of("inspect", "trained:1"),
                List.of("ps", "-a"),
                List.of("volume", "rm", "trained"));
        for (List<String> r : runs) {
            run(root, quiet, r);
        }
        // A push and a pull, so that the HTTP client's classes are in the cache too.
        try (TrainingRegistry registry = new TrainingRegistry()) {
            String remote = registry.address() + "/trained:1";
            run(root, quiet, List.of("tag", "busybox", remote));
            run(root, quiet, List.of("push", remote));
            run(root, quiet, List.of("rmi", remote));
            run(work.resolve("root2").toString(), quiet, List.of("pull", remote));
        }
        run(root, quiet, List.of("image", "prune", "-a"));
        // the default bridge and the nftables table the runs made for this root, deleted
        String run = System.getenv("VESSEL_RUN");
        io.vessel.engine.network.Networks.open(io.vessel.engine.network.NetworksConfig.fromEnvironment(Path.of(root),
                run == null || run.isEmpty() ? io.vessel.engine.EngineConfig.DEFAULT_RUN : Path.of(run), true))
                .dismantle();
    }

    private static void run(String root, PrintStream quiet, List<String> args) {
        List<String> argv = new java.util.ArrayList<>(List.of("--root", root));
        argv.addAll(args);
        int status = new Main(quiet, quiet).run(argv);
        if (status != 0) {
            System.err.println("aot training: vessel " + String.join(" ", args) + " failed with " + status);
        }
    }
}
