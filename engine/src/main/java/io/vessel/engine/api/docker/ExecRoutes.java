package io.vessel.engine.api.docker;

import io.vessel.engine.Attachment;
import io.vessel.engine.Containers;
import io.vessel.engine.Engine;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Docker's exec API over {@link Containers}: create an exec in a running container, start it
 * detached or on a hijacked connection (multiplexed frames, or raw with a terminal), inspect it for
 * its exit code (what {@code docker exec} reports), resize its terminal.
 */
final class ExecRoutes {
    /**
     * How long a finished exec's stream waits for its exit status to be recorded before it closes:
     * the CLI inspects the exec for its exit code as soon as the stream ends.
     */
    private static final Duration EXIT_RECORD_WAIT = Duration.ofSeconds(5);
    private static final Duration EXIT_POLL = Duration.ofMillis(10);

    private final Containers containers;

    ExecRoutes(Engine engine) {
        this.containers = engine.containers();
    }

    void register(Router r) {
        r.post("/containers/{id}/exec", ContainerRoutes.wrap(this::create));
        r.post("/exec/{id}/start", ContainerRoutes.wrap(this::start));
        r.post("/exec/{id}/resize", ContainerRoutes.wrap(this::resize));
        r.get("/exec/{id}/json", ContainerRoutes.wrap(this::inspect));
    }

    private void create(HttpRequest req, HttpExchange ex) throws IOException {
        JsonNode body = req.readJson("exec create", false);
        List<String> cmd = CreateBody.has(body.get("Cmd")) ? CreateBody.strings(body.get("Cmd")) : List.of();
        if (cmd.isEmpty()) {
            throw ApiException.badRequest("No exec command specified");
        }
        String user = CreateBody.str(body.get("User"), "");
        if (CreateBody.bool(body.get("Privileged"))) {
            throw ApiException.badRequest("exec --privileged is not supported by Vessel");
        }
        Containers.ExecConfig config = new Containers.ExecConfig(cmd, CreateBody.bool(body.get("Tty")),
                CreateBody.bool(body.get("AttachStdin")), CreateBody.bool(body.get("AttachStdout")),
                CreateBody.bool(body.get("AttachStderr")),
                CreateBody.has(body.get("Env")) ? CreateBody.strings(body.get("Env")) : List.of(),
                CreateBody.str(body.get("WorkingDir"), ""), user);
        String id = containers.execCreate(req.param("id"), config);
        ex.json(Status.CREATED, Map.of("Id", id));
    }

    private void start(HttpRequest req, HttpExchange ex) throws IOException, InterruptedException {
        String id = req.param("id");
        JsonNode body = req.readJson("exec start", true);
        boolean detach = CreateBody.bool(body.get("Detach"));
        Containers.ExecInfo info = containers.execInspect(id);
        List<JsonNode> size = CreateBody.has(body.get("ConsoleSize")) ? body.get("ConsoleSize").elements() : List.of();
        if (detach) {
            containers.execStart(id, true);
            ex.empty(Status.OK);
            return;
        }
        Attachment a = containers.execStart(id, false);
        HttpExchange.Hijacked h;
        try {
            h = ex.hijack(StdStreams.mediaType(info.config().tty()));
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        try (Attachment att = a) {
            if (size.size() == 2 && info.config().tty()) {
                try {
                    containers.execResize(id, size.get(0).intValue(), size.get(1).intValue());
                } catch (IOException | RuntimeException exited) {
                    // already gone: nothing to size
                }
            }
            ContainerRoutes.pump(h, att, info.config().attachStdin());
            long deadline = System.nanoTime() + EXIT_RECORD_WAIT.toNanos();
            while (containers.execInspect(id).running() && System.nanoTime() < deadline) {
                Thread.sleep(EXIT_POLL);
            }
        } finally {
            h.closeWrite().run();
        }
    }

    private void resize(HttpRequest req, HttpExchange ex) throws IOException {
        int h = (int) req.queryLong("h", 0);
        int w = (int) req.queryLong("w", 0);
        if (h < 0 || w < 0 || h > 0xffff || w > 0xffff) {
            throw ApiException.badRequest("resize: h and w must be from 0 to 65535");
        }
        containers.execResize(req.param("id"), h, w);
        ex.empty(Status.OK);
    }

    private void inspect(HttpRequest req, HttpExchange ex) throws IOException {
        Containers.ExecInfo x = containers.execInspect(req.param("id"));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ID", x.id());
        m.put("Running", x.running());
        m.put("ExitCode", x.exitCode());
        Map<String, Object> pc = new LinkedHashMap<>();
        pc.put("tty", x.config().tty());
        pc.put("entrypoint", x.config().cmd().getFirst());
        pc.put("arguments", x.config().cmd().subList(1, x.config().cmd().size()));
        pc.put("privileged", false);
        pc.put("user", x.config().user() == null ? "" : x.config().user());
        m.put("ProcessConfig", pc);
        m.put("OpenStdin", x.config().attachStdin());
        m.put("OpenStderr", x.config().attachStderr());
        m.put("OpenStdout", x.config().attachStdout());
        m.put("CanRemove", false);
        m.put("ContainerID", x.containerId());
        m.put("DetachKeys", "");
        m.put("Pid", x.pid());
        ex.json(Status.OK, m);
    }
}
