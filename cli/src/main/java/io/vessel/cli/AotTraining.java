package io.vessel.cli;

import io.vessel.engine.Engine;
import io.vessel.engine.api.Daemon;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The training run for the {@code vessel} command's JDK 25 AOT cache (scripts/aot-train.sh): a
 * daemon and the common verbs against it, in one JVM, in throw-away roots, so that the classes
 * both sides load and link (the client's and the daemon's, and the FFM call sites they bind) are
 * ready in the cache at the next start of either.
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
        Files.writeString(ctx.resolve(".dockerignore"), "ignored\n");
        Files.writeString(ctx.resolve("ignored"), "not sent\n");
        String root = work.resolve("root").toString();
        String root2 = work.resolve("root2").toString();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (Served one = Served.start(root, quiet); Served two = Served.start(root2, quiet)) {
            List<List<String>> runs = List.of(
                    List.of("version"),
                    List.of("version", "--format", "json"),
                    List.of("info"),
                    List.of("run", "--rm", "busybox", "true"),
                    List.of("images"),
                    List.of("images", "--format", "json"),
                    List.of("build", "-t", "trained:1", ctx.toString()),
                    List.of("build", "-q", "-t", "trained:1", ctx.toString()),
                    List.of("volume", "create", "trained"),
                    List.of("run", "--rm", "-v", "trained:/v", "trained:1"),
                    List.of("volume", "ls"),
                    List.of("volume", "inspect", "trained"),
                    List.of("save", "-o", work.resolve("t.tar").toString(), "trained:1"),
                    List.of("rmi", "trained:1"),
                    List.of("load", "-i", work.resolve("t.tar").toString()),
                    List.of("inspect", "trained:1"),
                    List.of("ps", "-a"),
                    List.of("system", "df"),
                    List.of("events", "--since", "0", "--until", "1"),
                    List.of("volume", "rm", "trained"));
            for (List<String> r : runs) {
                run(root, quiet, r);
            }
            // A push and a pull, so that the registry client's classes are in the cache too.
            try (TrainingRegistry registry = new TrainingRegistry()) {
                String remote = registry.address() + "/trained:1";
                run(root, quiet, List.of("tag", "busybox", remote));
                run(root, quiet, List.of("push", remote));
                run(root, quiet, List.of("rmi", remote));
                run(root2, quiet, List.of("pull", remote));
            }
            run(root, quiet, List.of("image", "prune", "-a"));
            run(root, quiet, List.of("system", "prune", "-f"));
        }
    }

    /** A daemon serving {@code root} on its default sockets, in this JVM. */
    private record Served(Engine engine, Daemon daemon) implements AutoCloseable {
        static Served start(String root, PrintStream log) throws IOException {
            Main m = new Main(log, log);
            m.root(Path.of(root));
            Engine e = m.engine();
            return new Served(e, Daemon.start(e, Daemon.defaultSockets(e), false, log));
        }

        /** Stops serving, then deletes the bridge and nftables table that the runs made for this root. */
        @Override
        public void close() throws IOException {
            daemon.close();
            engine.networks().dismantle();
        }
    }

    private static void run(String root, PrintStream quiet, List<String> args) {
        List<String> argv = new ArrayList<>(List.of("--root", root));
        argv.addAll(args);
        int status = new Main(quiet, quiet).run(argv);
        if (status != 0) {
            System.err.println("aot training: vessel " + String.join(" ", args) + " failed with " + status);
        }
    }
}
