package io.vessel.cli;

import io.vessel.cli.client.Body;
import io.vessel.cli.client.Query;
import io.vessel.json.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code vessel build [-t NAME]... [-f Dockerfile] [--build-arg K=V]... [--no-cache] [--target S] [-q] CONTEXT}
 * through the daemon's {@code POST /build}: the context goes as a tar streamed from here with
 * {@code .dockerignore} applied (as the docker CLI does), and the classic builder's output
 * ({@code Step 2/5 : ...}, {@code ---> Using cache}) comes back as it happens.
 */
final class BuildCommand {
    private BuildCommand() {
    }

    static int run(Main main, List<String> args) throws UsageError, IOException {
        Flags f = new Flags("build", false).list("tag", 't', "name and optionally a tag (name:tag)")
                .value("file", 'f', "the Dockerfile (default: CONTEXT/Dockerfile)")
                .list("build-arg", (char) 0, "set a build-time variable (KEY=VALUE, or KEY to take it from the environment)")
                .list("label", (char) 0, "set metadata on the image (KEY=VALUE)")
                .bool("no-cache", (char) 0, "do not use the cache")
                .value("target", (char) 0, "the stage to build")
                .bool("quiet", 'q', "print only the image ID")
                .bool("rm", (char) 0, "accepted: intermediate containers are always removed")
                .value("network", (char) 0, "accepted: RUN uses the host's network")
                .parse(args);
        if (main.help(f, "build [OPTIONS] PATH")) {
            return 0;
        }
        String contextArg = f.arg(0, "exactly 1 argument: the build context directory");
        f.atMost(1);
        Path context = Path.of(contextArg).toAbsolutePath().normalize();
        if (!Files.isDirectory(context)) {
            throw new UsageError("unable to prepare context: path \"" + contextArg + "\" is not a directory");
        }
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
        Map<String, String> labels = new LinkedHashMap<>();
        for (String l : f.list("label")) {
            int eq = l.indexOf('=');
            if (eq <= 0) {
                throw new UsageError("invalid --label \"" + l + "\": KEY=VALUE");
            }
            labels.put(l.substring(0, eq), l.substring(eq + 1));
        }
        // The Dockerfile: inside the context by its relative name; outside it, sent in the tar under a
        // name of its own, as the docker CLI does (.dockerfile.<random>).
        String dockerfile = "Dockerfile";
        List<ContextArchive.Extra> extra = List.of();
        if (f.has("file")) {
            Path df = Path.of(f.value("file")).toAbsolutePath().normalize();
            if (!Files.isRegularFile(df)) {
                throw new UsageError("unable to prepare context: the Dockerfile " + f.value("file") + " is not a file");
            }
            if (df.startsWith(context)) {
                dockerfile = context.relativize(df).toString();
            } else {
                byte[] r = new byte[10];
                ThreadLocalRandom.current().nextBytes(r);
                dockerfile = ".dockerfile." + HexFormat.of().formatHex(r);
                extra = List.of(new ContextArchive.Extra(dockerfile, Files.readAllBytes(df)));
            }
        } else if (!Files.isRegularFile(context.resolve(dockerfile))) {
            throw new UsageError("unable to prepare context: no Dockerfile in " + context + " (give one with -f)");
        }
        ContextArchive archive = ContextArchive.buildContext(context, dockerfile);
        List<ContextArchive.Extra> extras = extra;
        Query q = Query.path("/build").add("dockerfile", dockerfile).flag("q", f.bool("quiet"))
                .flag("nocache", f.bool("no-cache")).add("target", f.value("target")).add("rm", "1")
                .add("buildargs", buildArgs.isEmpty() ? null : Json.write(buildArgs))
                .add("labels", labels.isEmpty() ? null : Json.write(labels));
        f.list("tag").forEach(t -> q.add("t", t));
        MessageDisplay display = new MessageDisplay(main.out(), false, f.bool("quiet"));
        main.client().messages("POST", q.toString(), Map.of(), new Body.Streamed(o -> archive.writeTo(o, extras),
                "application/x-tar"), display);
        if (f.bool("quiet") && display.auxId() != null) {
            main.out().println(display.auxId());
        }
        return 0;
    }
}
