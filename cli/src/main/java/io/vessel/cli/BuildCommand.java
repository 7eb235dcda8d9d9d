package io.vessel.cli;

import io.vessel.engine.build.BuildOutput;
import io.vessel.engine.build.BuildRequest;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code vessel build [-t NAME]... [-f Dockerfile] [--build-arg K=V]... [--no-cache] [--target S] [-q] CONTEXT},
 * printing Docker's classic builder output ({@code Step 2/5 : ...}, {@code ---> Using cache}).
 */
final class BuildCommand {
    private BuildCommand() {
    }

    static int run(Main main, List<String> args) throws UsageError, IOException {
        Flags f = new Flags("build", false).list("tag", 't', "name and optionally a tag (name:tag)")
                .value("file", 'f', "the Dockerfile (default: CONTEXT/Dockerfile)")
                .list("build-arg", (char) 0, "set a build-time variable (KEY=VALUE, or KEY to take it from the environment)")
                .bool("no-cache", (char) 0, "do not use the cache")
                .value("target", (char) 0, "the stage to build")
                .bool("quiet", 'q', "print only the image ID")
                .bool("rm", (char) 0, "accepted: intermediate containers are always removed")
                .value("network", (char) 0, "accepted: RUN uses the host's network")
                .parse(args);
        if (f.bool("help")) {
            main.out().println("Usage:  vessel build [OPTIONS] PATH\n");
            main.out().print(f.help());
            return 0;
        }
        String context = f.arg(0, "exactly 1 argument: the build context directory");
        f.atMost(1);
        Map<String, String> buildArgs = new LinkedHashMap<>();
        for (String a : f.list("build-arg")) {
            int eq = a.indexOf('=');
            if (eq == 0) {
                throw new UsageError("invalid --build-arg \"" + a + "\": KEY=VALUE");
            }
            if (eq < 0) {
                String v = System.getenv(a);
                if (v != null) {
                    buildArgs.put(a, v);
                }
            } else {
                buildArgs.put(a.substring(0, eq), a.substring(eq + 1));
            }
        }
        String dockerfile = f.value("file");
        if (dockerfile != null) {
            Path ctx = Path.of(context).toAbsolutePath().normalize();
            Path df = Path.of(dockerfile).toAbsolutePath().normalize();
            dockerfile = df.startsWith(ctx) ? ctx.relativize(df).toString() : df.toString();
        }
        boolean quiet = f.bool("quiet");
        PrintStream out = main.out();
        try (Fd devNull = quiet ? Files.open("/dev/null", Files.O_WRONLY | Files.O_CLOEXEC, 0) : null) {
            BuildOutput output = new BuildOutput() {
                @Override
                public void line(String line) {
                    out.println(line);
                    out.flush();
                }

                @Override
                public int stdoutFd() {
                    return devNull != null ? devNull.num() : 1;
                }

                @Override
                public int stderrFd() {
                    return devNull != null ? devNull.num() : 2;
                }
            };
            main.engine().builds().build(new BuildRequest(Path.of(context), dockerfile, f.list("tag"),
                    buildArgs, f.bool("no-cache"), f.value("target"), quiet), output);
        } catch (io.vessel.linux.ErrnoException e) {
            throw new IOException(e.getMessage(), e);
        }
        return 0;
    }
}
