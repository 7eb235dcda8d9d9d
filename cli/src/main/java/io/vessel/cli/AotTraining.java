package io.vessel.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The training run for the {@code vessel} command's JDK 25 AOT caches (scripts/aot-train.sh): the
 * common verbs, one after another in this JVM, against the daemon that the first of them starts
 * (as a process of its own, through {@code vessel.command}) in a throw-away root. This JVM's cache
 * gets the client's classes; the daemon's run, stopped by the script, makes the daemon's. Two
 * caches, because a JVM loads every class of its AOT cache at start: the daemon's thousands of
 * classes would slow every command's start-up.
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
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        // The first command starts the root's daemon, a process of its own (its classes go to its own
        // cache: see scripts/aot-train.sh); this JVM's cache holds the client's classes only, so that a
        // command's start-up loads no daemon class.
        List<List<String>> runs = List.of(
                List.of("version"),
                List.of("version", "--format", "json"),
                List.of("info"),
                List.of("run", "--rm", "busybox", "true"),
                List.of("run", "-d", "--name", "trained", "busybox", "sleep", "30"),
                List.of("ps"),
                List.of("ps", "-a", "--format", "json"),
                List.of("exec", "trained", "true"),
                List.of("ps", "--format", "table {{.Names}}\t{{.Status}}"),
                List.of("inspect", "-f", "{{.State.Status}} {{json .Config.Cmd}}{{range .Mounts}}{{.Source}}{{end}}", "trained"),
                List.of("diff", "trained"),
                List.of("update", "--memory", "64m", "trained"),
                List.of("commit", "trained", "trained:2"),
                List.of("history", "trained:2"),
                List.of("rmi", "trained:2"),
                List.of("logs", "trained"),
                List.of("stop", "-t", "0", "trained"),
                List.of("rm", "trained"),
                List.of("images"),
                List.of("images", "--format", "json"),
                List.of("build", "-t", "trained:1", ctx.toString()),
                List.of("build", "-q", "-t", "trained:1", ctx.toString()),
                List.of("volume", "create", "trained"),
                List.of("run", "--rm", "-v", "trained:/v", "trained:1"),
                List.of("volume", "ls"),
                List.of("volume", "inspect", "trained"),
                List.of("network", "ls"),
                List.of("save", "-o", work.resolve("t.tar").toString(), "trained:1"),
                List.of("rmi", "trained:1"),
                List.of("load", "-i", work.resolve("t.tar").toString()),
                List.of("inspect", "trained:1"),
                List.of("system", "df"),
                List.of("events", "--since", "0", "--until", "1"),
                List.of("volume", "rm", "trained"));
        for (List<String> r : runs) {
            run(root, quiet, r);
        }
        // A push and a pull (the image removed and its blobs collected in between), so that the
        // registry client's classes and the progress display are in the caches too.
        try (TrainingRegistry registry = new TrainingRegistry()) {
            String remote = registry.address() + "/trained:1";
            run(root, quiet, List.of("tag", "trained:1", remote));
            run(root, quiet, List.of("push", remote));
            run(root, quiet, List.of("rmi", "trained:1", remote));
            run(root, quiet, List.of("image", "prune", "-a", "-f"));
            run(root, quiet, List.of("pull", remote));
        }
        run(root, quiet, List.of("image", "prune", "-a"));
        run(root, quiet, List.of("system", "prune", "-f"));
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
