package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.build.BuildOutput;
import io.vessel.engine.build.BuildRequest;
import io.vessel.engine.build.BuildResult;
import io.vessel.engine.events.Event;
import io.vessel.image.Reference;
import io.vessel.image.layer.LayerApplier;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Pipes;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /build}: Docker's classic builder ({@code DOCKER_BUILDKIT=0}). The body is the
 * context as a tar (plain or gzip), unpacked into a private directory under the root with the
 * layer applier's checks (no absolute paths, no {@code ..}, nothing through a symlink out); the
 * response is the JSON stream of {@code {"stream"}} lines, the image ID as {@code {"aux": {"ID"}}},
 * and {@code errorDetail} when a step fails. RUN's output comes through a pipe, as it is produced.
 */
final class BuildRoutes {
    private final Engine engine;

    BuildRoutes(Engine engine) {
        this.engine = engine;
    }

    void register(Router r) {
        r.post("/build", this::build);
    }

    private void build(HttpRequest req, HttpExchange ex) throws Exception {
        String remote = req.query("remote", "");
        if (!remote.isEmpty()) {
            throw ApiException.badRequest("building from a remote context (remote=" + remote
                    + ") is not supported; send the context as a tar in the request body");
        }
        List<String> tags = new ArrayList<>();
        for (String t : req.queryAll("t")) {
            if (!t.isEmpty()) {
                tags.add(Reference.parse(t).toString());
            }
        }
        Map<String, String> buildArgs = stringMap(req, "buildargs");
        Map<String, String> labels = stringMap(req, "labels");
        String dockerfile = req.query("dockerfile", "");
        dockerfile = dockerfile.isEmpty() ? "Dockerfile" : dockerfile;
        String target = req.query("target", "");
        boolean quiet = req.queryBool("q", false);

        Path work = Files.createTempDirectory(engine.config().root(), ".build-");
        try {
            Path context = Files.createDirectory(work.resolve("context"));
            LayerApplier.apply(req.body(), context, LayerApplier.Options.copy(false)); // the client's files: no whiteouts
            Path file = dockerfileIn(context, dockerfile);
            if (!labels.isEmpty()) {
                // as dockerd does: the labels become a LABEL instruction at the end of the Dockerfile
                Path copy = work.resolve("Dockerfile.labels");
                StringBuilder label = new StringBuilder("\nLABEL");
                labels.forEach((k, v) -> label.append(' ').append(Json.write(k)).append('=').append(Json.write(v)));
                Files.writeString(copy, Files.readString(file) + label + "\n");
                file = copy;
            }
            BuildRequest request = new BuildRequest(context, file.toString(), tags, buildArgs,
                    req.queryBool("nocache", false), target.isEmpty() ? null : target, quiet);
            run(request, ex);
        } finally {
            FileTrees.remove(work);
        }
    }

    /** The Dockerfile, which must be a regular file inside the context (no symlink out of it). */
    private static Path dockerfileIn(Path context, String name) throws IOException {
        Path p = Path.of(name);
        if (p.isAbsolute() || !context.resolve(p).normalize().startsWith(context)) {
            throw ApiException.badRequest("dockerfile " + name + ": the Dockerfile must be a path inside the build context");
        }
        Path file = context.resolve(p).normalize();
        if (!Files.exists(file)) {
            throw ApiException.badRequest("Cannot locate specified Dockerfile: " + name);
        }
        Path real = file.toRealPath();
        if (!real.startsWith(context.toRealPath()) || !Files.isRegularFile(real)) {
            throw ApiException.badRequest("dockerfile " + name + ": not a regular file inside the build context");
        }
        return real;
    }

    private void run(BuildRequest request, HttpExchange ex) throws Exception {
        try (JsonStream out = new JsonStream(ex); Pipes.Pipe pipe = Pipes.pipe(Pipes.O_CLOEXEC)) {
            Thread forwarder = Thread.ofPlatform().name("build-output").daemon().start(() -> forward(pipe.read().num(), out));
            BuildOutput output = new BuildOutput() {
                @Override
                public void line(String line) {
                    try {
                        if (!request.quiet()) {
                            out.stream(line + "\n");
                        }
                    } catch (IOException gone) {
                        throw new java.io.UncheckedIOException("the client went away", gone);
                    }
                }

                @Override
                public int stdoutFd() {
                    return pipe.write().num();
                }

                @Override
                public int stderrFd() {
                    return pipe.write().num();
                }
            };
            BuildResult result;
            try {
                result = engine.builds().build(request, output);
            } catch (Exception e) {
                pipe.write().close();
                forwarder.join();
                out.fail(e);
                return;
            }
            pipe.write().close();
            forwarder.join();
            out.aux(Map.of("ID", result.imageId().toString()));
            if (request.quiet()) {
                out.stream(result.imageId() + "\n");
            }
            for (String t : result.tags()) {
                engine.events().publish(Event.now(Event.IMAGE, "tag", result.imageId().toString(), Map.of("name", t)));
            }
        }
    }

    /** Copies what RUN steps write to the pipe into {"stream"} messages until every writer closed it. */
    private static void forward(int fd, JsonStream out) {
        InputStream in = new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                byte[] buf = new byte[Math.min(len, 8192)];
                int n = io.vessel.linux.Files.read(fd, buf);
                if (n == 0) {
                    return -1;
                }
                System.arraycopy(buf, 0, b, off, n);
                return n;
            }
        };
        try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            char[] buf = new char[8192];
            int n;
            while ((n = r.read(buf)) > 0) {
                out.stream(new String(buf, 0, n));
            }
        } catch (IOException gone) {
            // the client left; the build notices on its next line
        }
    }

    /** A query parameter holding a JSON object of strings ({@code buildargs}, {@code labels}); null values are skipped. */
    private static Map<String, String> stringMap(HttpRequest req, String name) {
        String v = req.query(name, "");
        if (v.isBlank()) {
            return Map.of();
        }
        Object parsed;
        try {
            parsed = Json.parse(v);
        } catch (JsonException e) {
            throw ApiException.badRequest("query parameter " + name + ": invalid JSON: " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> m)) {
            throw ApiException.badRequest("query parameter " + name + " must be a JSON object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            switch (e.getValue()) {
                case null -> { }
                case String s -> out.put((String) e.getKey(), s);
                default -> throw ApiException.badRequest("query parameter " + name + ": the value of "
                        + e.getKey() + " must be a string");
            }
        }
        return out;
    }
}
