package io.vessel.cli;

import io.vessel.cli.client.ApiError;
import io.vessel.cli.client.Body;
import io.vessel.cli.client.DockerClient;
import io.vessel.cli.client.Frames;
import io.vessel.cli.client.Hijacked;
import io.vessel.cli.client.Query;
import io.vessel.cli.client.Response;
import io.vessel.image.Reference;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Terminal;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The container verbs through the daemon's API: run and create (create, pull when the image is
 * missing, attach, wait, start), ps, logs, exec, start, stop, kill, restart, rm, wait, pause,
 * unpause, rename. A container's streams are the daemon's hijacked connection: multiplexed frames
 * without a tty, raw bytes with one; with {@code -t} on a terminal, the local terminal is raw and
 * its size follows SIGWINCH.
 */
final class ContainerCommands {
    private static final String MULTIPLEXED = "application/vnd.docker.multiplexed-stream";
    /** docker run's status when Vessel itself fails, and when the command cannot be run or found (docker's 125/126/127). */
    private static final int FAILED = 125;

    private final Main main;
    private final PrintStream out;
    private final PrintStream err;

    ContainerCommands(Main main) {
        this.main = main;
        this.out = main.out();
        this.err = main.err();
    }

    // ---- run and create ----

    int run(List<String> args) throws UsageError, IOException {
        Flags f = RunBody.flags("run").parse(args);
        if (main.help(f, "run [OPTIONS] IMAGE [COMMAND] [ARG...]")) {
            return 0;
        }
        Map<String, Object> body = RunBody.of(f);
        boolean detach = f.bool("detach");
        boolean tty = f.bool("tty");
        boolean interactive = f.bool("interactive");
        if (tty && interactive && !main.terminal(0)) {
            throw new UsageError("the input device is not a TTY (drop -t, or run from a terminal)");
        }
        if (tty && main.terminal(1)) {
            try {
                int[] size = Terminal.windowSize(1);
                @SuppressWarnings("unchecked")
                Map<String, Object> host = (Map<String, Object>) body.get("HostConfig");
                host.put("ConsoleSize", List.of(size[0], size[1])); // the size at creation (API 1.42)
            } catch (ErrnoException e) {
                // no size to give: the resize after start sets it
            }
        }
        DockerClient c = main.client();
        String id = create(c, body, f.value("name"), f.value("pull", "missing"), f.bool("quiet"));
        if (detach) {
            c.send("POST", "/containers/" + id + "/start", null);
            out.println(id);
            return 0;
        }
        boolean autoRemove = f.bool("rm");
        Hijacked stream = c.hijack("POST", Query.path("/containers/" + id + "/attach").add("stream", 1)
                .add("stdin", interactive ? 1 : 0).add("stdout", 1).add("stderr", 1).toString(), null);
        try (stream) {
            Response waiter = c.call("POST", Query.path("/containers/" + id + "/wait")
                    .add("condition", autoRemove ? "removed" : "next-exit").toString(), Map.of(), Body.NONE);
            try (waiter) {
                waiter.check();
                try {
                    c.send("POST", "/containers/" + id + "/start", null);
                } catch (ApiError e) {
                    throw new ApiError(e.status(), e.getMessage()); // docker's "failed to start": exit 125 below
                }
                // docker's --sig-proxy: without a tty, Ctrl-C and SIGTERM go to the container, whose
                // exit then ends this command (with a tty, the terminal sends ^C itself)
                List<Object> proxied = tty ? List.of() : SignalProxy.install(main.ownsStdio(), signal -> {
                    try {
                        c.send("POST", Query.path("/containers/" + id + "/kill").add("signal", signal).toString(), null);
                    } catch (IOException | RuntimeException gone) {
                        // the container has ended already
                    }
                });
                try {
                    relay(c, stream, tty, interactive, "/containers/" + id + "/resize");
                } finally {
                    SignalProxy.remove(proxied);
                }
                return exitStatus(waiter);
            }
        }
    }

    int create(List<String> args) throws UsageError, IOException {
        Flags f = RunBody.flags("create").parse(args);
        if (main.help(f, "create [OPTIONS] IMAGE [COMMAND] [ARG...]")) {
            return 0;
        }
        out.println(create(main.client(), RunBody.of(f), f.value("name"), f.value("pull", "missing"), f.bool("quiet")));
        return 0;
    }

    /** Creates the container, pulling its image first when missing (or always with --pull always). */
    private String create(DockerClient c, Map<String, Object> body, String name, String pull, boolean quiet)
            throws UsageError, IOException {
        String image = (String) body.get("Image");
        if (!List.of("missing", "always", "never").contains(pull)) {
            throw new UsageError("invalid --pull \"" + pull + "\": missing, always or never");
        }
        if (pull.equals("always")) {
            pullForRun(image, quiet);
        }
        String path = Query.path("/containers/create").add("name", name).toString();
        JsonNode made;
        try {
            made = c.send("POST", path, body);
        } catch (ApiError e) {
            if (!e.notFound() || !e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("no such image") || pull.equals("never")) {
                throw e;
            }
            err.println("Unable to find image '" + image + "' locally");
            pullForRun(image, quiet);
            made = c.send("POST", path, body);
        }
        if (made.get("Warnings").isArray()) {
            for (JsonNode w : made.get("Warnings").elements()) {
                err.println("WARNING: " + w.string(""));
            }
        }
        return made.get("Id").string();
    }

    private void pullForRun(String image, boolean quiet) throws UsageError, IOException {
        Reference ref;
        try {
            ref = Reference.parse(image);
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        if (ref.tag() == null && ref.digest() == null) {
            ref = ref.withTag(Reference.DEFAULT_TAG);
        }
        new ImageCommands(main).pull(ref, null, quiet, err);
    }

    /** The wait response's StatusCode; its Error (the command could not be run) printed. */
    private int exitStatus(Response waiter) throws IOException {
        String text = waiter.text();
        if (text.isBlank()) {
            throw new IOException("the daemon ended the wait without a status");
        }
        JsonNode r;
        try {
            r = JsonNode.root("wait", Json.parse(text));
        } catch (JsonException e) {
            throw new IOException("the daemon's wait result is not JSON: " + e.getMessage(), e);
        }
        String error = r.get("Error").isObject() ? r.get("Error").get("Message").string("") : "";
        if (!error.isEmpty()) {
            err.println("Error: " + error);
        }
        return (int) r.get("StatusCode").longValue(FAILED);
    }

    /**
     * Copies the container's output here (and this terminal's or pipe's input there when
     * {@code stdin}) until the container closes its output. With a tty on a terminal: raw mode,
     * and the container's terminal sized as this one, now and on every SIGWINCH.
     */
    private void relay(DockerClient c, Hijacked stream, boolean tty, boolean stdin, String resizePath) throws IOException {
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        OutputStream stderr = new FileOutputStream(FileDescriptor.err);
        if (!main.ownsStdio()) {
            stdout = out;
            stderr = err;
        }
        out.flush();
        Terminal.Saved raw = null;
        Object winch = null;
        try {
            if (tty && main.terminal(0) && stdin) {
                raw = Terminal.makeRaw(0);
            }
            if (tty && main.terminal(1)) {
                resize(c, resizePath);
                winch = Winch.install(() -> resize(c, resizePath));
            }
            if (stdin) {
                Thread.ofPlatform().daemon().name("stdin").start(() -> {
                    try (InputStream in = new FileInputStream(FileDescriptor.in)) {
                        in.transferTo(new FlushingOutput(stream.input()));
                        stream.closeInput();
                    } catch (IOException gone) {
                        // the container ended: its output's end ends the command
                    }
                });
            }
            if (tty) {
                InputStream in = stream.output();
                byte[] buf = new byte[16 * 1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    stdout.write(buf, 0, n);
                    stdout.flush();
                }
            } else {
                Frames.demultiplex(stream.output(), stdout, stderr);
            }
        } catch (ErrnoException e) {
            throw new IOException("the terminal: " + e.getMessage(), e);
        } finally {
            Winch.remove(winch);
            if (raw != null) {
                try {
                    raw.close();
                } catch (ErrnoException e) {
                    err.println("vessel: could not restore the terminal: " + e.getMessage());
                }
            }
        }
    }

    private void resize(DockerClient c, String path) {
        try {
            int[] size = Terminal.windowSize(1);
            c.send("POST", Query.path(path).add("h", size[0]).add("w", size[1]).toString(), null);
        } catch (IOException | RuntimeException e) {
            // the container may have ended between the signal and the request: nothing to size
        }
    }

    /** Flushes every write: keystrokes reach the container as they are typed. */
    private static final class FlushingOutput extends OutputStream {
        private final OutputStream out;

        FlushingOutput(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            out.flush();
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            out.flush();
        }
    }

    // ---- exec ----

    int exec(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("exec", true).bool("detach", 'd', "run in the background")
                .bool("interactive", 'i', "keep standard input open").bool("tty", 't', "allocate a pseudo-terminal")
                .list("env", 'e', "set environment variables").value("workdir", 'w', "working directory")
                .value("user", 'u', "user name or UID[:GID]").bool("privileged", (char) 0, "all capabilities").parse(args);
        if (main.help(f, "exec [OPTIONS] CONTAINER COMMAND [ARG...]")) {
            return 0;
        }
        String container = f.arg(0, "at least 2 arguments: the container and the command");
        f.arg(1, "at least 2 arguments: the container and the command");
        boolean tty = f.bool("tty");
        boolean interactive = f.bool("interactive");
        boolean detach = f.bool("detach");
        if (tty && interactive && !main.terminal(0)) {
            throw new UsageError("the input device is not a TTY (drop -t, or run from a terminal)");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("AttachStdin", interactive && !detach);
        body.put("AttachStdout", !detach);
        body.put("AttachStderr", !detach);
        body.put("Tty", tty);
        body.put("Cmd", f.positional().subList(1, f.positional().size()));
        List<String> env = new ArrayList<>();
        for (String e : f.list("env")) {
            env.add(e.contains("=") ? e : e + "=" + System.getenv().getOrDefault(e, ""));
        }
        body.put("Env", env);
        if (f.has("workdir")) {
            body.put("WorkingDir", f.value("workdir"));
        }
        if (f.has("user")) {
            body.put("User", f.value("user"));
        }
        body.put("Privileged", f.bool("privileged"));
        DockerClient c = main.client();
        String id = c.send("POST", "/containers/" + Query.segment(container) + "/exec", body).get("Id").string();
        Map<String, Object> start = Map.of("Detach", detach, "Tty", tty);
        if (detach) {
            c.send("POST", "/exec/" + id + "/start", start);
            return 0;
        }
        try (Hijacked stream = c.hijack("POST", "/exec/" + id + "/start", start)) {
            relay(c, stream, tty, interactive, "/exec/" + id + "/resize");
        }
        JsonNode inspect = c.get("/exec/" + id + "/json");
        return (int) inspect.get("ExitCode").longValue(FAILED);
    }

    // ---- ps ----

    int ps(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("ps", false).bool("all", 'a', "show all containers (default: running)")
                .bool("quiet", 'q', "only IDs").bool("no-trunc", (char) 0, "do not truncate")
                .list("filter", 'f', "status=, name=, id=, label=, exited=, ancestor=")
                .value("last", 'n', "the n last created").bool("latest", 'l', "the last created")
                .bool("size", 's', "show sizes").value("format", (char) 0, "table, json, or a Go template").parse(args);
        if (main.help(f, "ps [OPTIONS]")) {
            return 0;
        }
        f.atMost(0);
        Formats.Format format = Formats.parse(f.value("format"));
        boolean json = !format.plain();
        String limit = f.bool("latest") ? "1" : f.value("last");
        JsonNode list = main.client().get(Query.path("/containers/json").flag("all", f.bool("all") || limit != null)
                .add("limit", limit).flag("size", f.bool("size")).add("filters", Api.filters(f.list("filter"))).toString());
        boolean trunc = !f.bool("no-trunc");
        if (f.bool("quiet")) {
            list.elements().forEach(i -> out.println(id(i.get("Id").string(""), trunc)));
            return 0;
        }
        Table t = new Table("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (JsonNode i : list.elements()) {
            String id = id(i.get("Id").string(""), trunc);
            String command = i.get("Command").string("");
            String shown = "\"" + command + "\"";
            if (trunc && shown.length() > 22) {
                shown = shown.substring(0, 19) + "…\"";
            }
            Instant created = Instant.ofEpochSecond(i.get("Created").longValue(0));
            String names = String.join(",", i.get("Names").present() ? i.get("Names").stringList().stream()
                    .map(n -> n.startsWith("/") ? n.substring(1) : n).toList() : List.of());
            String ports = ports(i.get("Ports"));
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("Command", shown);
                m.put("CreatedAt", Units.timestamp(created));
                m.put("ID", id);
                m.put("Image", i.get("Image").string(""));
                m.put("Labels", VolumeCommands.labels(i.get("Labels")));
                m.put("LocalVolumes", "0");
                m.put("Mounts", "");
                m.put("Names", names);
                m.put("Networks", i.get("HostConfig").get("NetworkMode").string(""));
                m.put("Ports", ports);
                m.put("RunningFor", Units.ago(created));
                m.put("Size", "N/A");
                m.put("State", i.get("State").string(""));
                m.put("Status", i.get("Status").string(""));
                rows.add(m);
            } else {
                t.row(id, i.get("Image").string(""), shown, Units.ago(created), i.get("Status").string(""), ports, names);
            }
        }
        if (json) {
            Formats.rows(out, format, rows, Map.of("ID", "CONTAINER ID"));
        } else {
            t.print(out);
        }
        return 0;
    }

    private static String ports(JsonNode ports) {
        if (!ports.isArray()) {
            return "";
        }
        List<String> l = new ArrayList<>();
        for (JsonNode p : ports.elements()) {
            String priv = p.get("PrivatePort").longValue(0) + "/" + p.get("Type").string("tcp");
            if (p.get("PublicPort").present()) {
                l.add(p.get("IP").string("") + ":" + p.get("PublicPort").longValue(0) + "->" + priv);
            } else {
                l.add(priv);
            }
        }
        return String.join(", ", l);
    }

    private static String id(String full, boolean trunc) {
        return trunc ? full.substring(0, Math.min(12, full.length())) : full;
    }

    // ---- logs ----

    int logs(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("logs", false).bool("follow", 'f', "follow the output")
                .value("tail", 'n', "lines from the end (or all)").value("since", (char) 0, "from this Unix time")
                .value("until", (char) 0, "up to this Unix time").bool("timestamps", 't', "show timestamps")
                .bool("details", (char) 0, "accepted").parse(args);
        if (main.help(f, "logs [OPTIONS] CONTAINER")) {
            return 0;
        }
        String container = f.arg(0, "exactly 1 argument");
        f.atMost(1);
        try (Response r = main.client().call("GET", Query.path("/containers/" + Query.segment(container) + "/logs")
                .add("stdout", 1).add("stderr", 1).flag("follow", f.bool("follow")).add("tail", f.value("tail", "all"))
                .add("since", f.value("since")).add("until", f.value("until")).flag("timestamps", f.bool("timestamps"))
                .toString(), Map.of(), Body.NONE)) {
            r.check();
            out.flush();
            OutputStream stdout = main.ownsStdio() ? new FileOutputStream(FileDescriptor.out) : out;
            OutputStream stderr = main.ownsStdio() ? new FileOutputStream(FileDescriptor.err) : err;
            String type = r.header("Content-Type");
            if (type != null && type.startsWith(MULTIPLEXED)) {
                Frames.demultiplex(r.body(), stdout, stderr);
            } else {
                r.body().transferTo(stdout);
                stdout.flush();
            }
        }
        return 0;
    }

    // ---- lifecycle verbs over several containers ----

    int each(String verb, List<String> args) throws UsageError, IOException {
        Flags f = new Flags(verb, false);
        switch (verb) {
            case "stop", "restart" -> f.value("time", 't', "seconds to wait before killing").value("signal", 's', "the stop signal");
            case "kill" -> f.value("signal", 's', "the signal (default KILL)");
            case "rm" -> f.bool("force", 'f', "kill a running container first").bool("volumes", 'v', "also its anonymous volumes")
                    .bool("link", 'l', "accepted");
            default -> { }
        }
        f.parse(args);
        if (main.help(f, verb + " [OPTIONS] CONTAINER [CONTAINER...]")) {
            return 0;
        }
        f.arg(0, "at least 1 argument");
        DockerClient c = main.client();
        int status = 0;
        for (String name : f.positional()) {
            String base = "/containers/" + Query.segment(name);
            try {
                switch (verb) {
                    case "start" -> c.send("POST", base + "/start", null);
                    case "stop" -> c.send("POST", Query.path(base + "/stop").add("t", f.value("time")).add("signal", f.value("signal")).toString(), null);
                    case "restart" -> c.send("POST", Query.path(base + "/restart").add("t", f.value("time")).add("signal", f.value("signal")).toString(), null);
                    case "kill" -> c.send("POST", Query.path(base + "/kill").add("signal", f.value("signal")).toString(), null);
                    case "rm" -> c.send("DELETE", Query.path(base).flag("force", f.bool("force")).flag("v", f.bool("volumes")).toString(), null);
                    case "pause" -> c.send("POST", base + "/pause", null);
                    case "unpause" -> c.send("POST", base + "/unpause", null);
                    case "wait" -> {
                        JsonNode r = c.send("POST", base + "/wait", null);
                        out.println(r.get("StatusCode").longValue(-1));
                        continue;
                    }
                    default -> throw new UsageError("unknown command \"" + verb + "\"");
                }
                out.println(name);
            } catch (ApiError e) {
                err.println("Error response from daemon: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    int rename(List<String> args) throws UsageError, IOException {
        Flags f = new Flags("rename", false).parse(args);
        if (main.help(f, "rename CONTAINER NEW_NAME")) {
            return 0;
        }
        String from = f.arg(0, "exactly 2 arguments");
        String to = f.arg(1, "exactly 2 arguments");
        f.atMost(2);
        main.client().send("POST", Query.path("/containers/" + Query.segment(from) + "/rename").add("name", to).toString(), null);
        return 0;
    }

    /** One container's inspect document, or null when there is none by that name or ID. */
    static JsonNode inspect(DockerClient c, String name) throws IOException {
        try {
            return c.get("/containers/" + Query.segment(name) + "/json");
        } catch (ApiError e) {
            if (e.notFound()) {
                return null;
            }
            throw e;
        }
    }
}
