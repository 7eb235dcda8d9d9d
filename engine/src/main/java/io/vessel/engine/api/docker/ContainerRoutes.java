package io.vessel.engine.api.docker;

import io.vessel.engine.Attachment;
import io.vessel.engine.Containers;
import io.vessel.engine.Engine;
import io.vessel.engine.Health;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.Handler;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.engine.container.JsonFileLog;
import io.vessel.image.store.ImageStore;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;
import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code /containers}: the container half of the Docker Engine API over {@link Containers}, shaped
 * as the docker CLI (v28) reads it — create, list with filters, inspect, the lifecycle verbs, wait,
 * logs, attach (hijacked), top, stats, resize, rename, remove and prune.
 */
final class ContainerRoutes {
    private static final Set<String> LIST_FILTERS = Set.of("id", "name", "label", "status", "ancestor", "exited",
            "before", "since", "volume", "network", "health", "is-task");
    private static final Set<String> PRUNE_FILTERS = Set.of("until", "label");
    /** The values of docker ps's health filter. */
    private static final Set<String> HEALTH_FILTER_VALUES = Set.of(Health.State.STARTING, Health.State.HEALTHY,
            Health.State.UNHEALTHY, "none");
    private static final Set<String> STATUSES = Set.of("created", "restarting", "running", "removing", "paused",
            "exited", "dead");
    /** Go's zero time, which dockerd shows for a time that has not happened (StartedAt of a created container). */
    static final String ZERO_TIME = "0001-01-01T00:00:00Z";
    /** How often streaming stats are sent: dockerd's collector interval. */
    private static final Duration STATS_INTERVAL = Duration.ofSeconds(1);
    /** The standard mounts of every bundle that inspect's Mounts does not list. */
    private static final Set<String> BUNDLE_MOUNTS = Set.of("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
            "/sys", "/sys/fs/cgroup", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", CreateBody.INIT_TARGET);
    /** Host clock ticks per second of /proc/stat (USER_HZ, 100 on every Linux architecture Vessel runs on). */
    private static final long USER_HZ = 100;

    private final Engine engine;
    private final Containers containers;
    private final Health health;

    ContainerRoutes(Engine engine, Health health) {
        this.engine = engine;
        this.containers = engine.containers();
        this.health = health;
    }

    void register(Router r) {
        r.post("/containers/create", wrap(this::create));
        r.get("/containers/json", wrap(this::list));
        r.post("/containers/prune", wrap(this::prune));
        r.get("/containers/{id}/json", wrap(this::inspect));
        r.post("/containers/{id}/start", wrap(this::start));
        r.post("/containers/{id}/stop", wrap(this::stop));
        r.post("/containers/{id}/kill", wrap(this::kill));
        r.post("/containers/{id}/restart", wrap(this::restart));
        r.post("/containers/{id}/pause", wrap(this::pause));
        r.post("/containers/{id}/unpause", wrap(this::unpause));
        r.post("/containers/{id}/wait", wrap(this::await));
        r.delete("/containers/{id}", wrap(this::remove));
        r.post("/containers/{id}/rename", wrap(this::rename));
        r.get("/containers/{id}/top", wrap(this::top));
        r.get("/containers/{id}/stats", wrap(this::stats));
        r.get("/containers/{id}/logs", wrap(this::logs));
        r.post("/containers/{id}/attach", wrap(this::attach));
        r.post("/containers/{id}/resize", wrap(this::resize));
    }

    /**
     * The engine's exceptions in dockerd's terms: a missing container is a 404 with its message as
     * it is ("No such container: x"), a state that forbids the verb a 409, a name in use a 409, a
     * malformed field a 400.
     */
    static Handler wrap(Handler h) {
        return (req, ex) -> {
            try {
                h.handle(req, ex);
            } catch (NoSuchFileException e) {
                String m = e.getMessage() == null ? "" : e.getMessage();
                throw ApiException.notFound(m.startsWith("No such") ? m : "no such file: " + m);
            } catch (IllegalStateException e) {
                throw ApiException.conflict(e.getMessage());
            } catch (JsonException e) {
                throw ApiException.badRequest(e.getMessage());
            } catch (IllegalArgumentException e) {
                String m = e.getMessage() == null ? e.toString() : e.getMessage();
                throw m.startsWith("Conflict.") ? ApiException.conflict(m) : ApiException.badRequest(m);
            }
        };
    }

    // ---------------------------------------------------------------- create

    private void create(HttpRequest req, HttpExchange ex) throws IOException {
        String platform = req.query("platform", "");
        if (!platform.isEmpty() && !platform.equals("linux") && !platform.startsWith("linux/amd64")) {
            throw ApiException.badRequest("platform \"" + platform + "\" is not available; Vessel runs linux/amd64");
        }
        JsonNode body = req.readJson("container create", false);
        String name = req.query("name", "");
        if (!name.isEmpty()) {
            checkName(name);
        }
        String image = CreateBody.image(body);
        // dockerd does not pull: "No such image" lets the CLI pull and try again, with its progress shown.
        ImageStore.Image found = engine.images().find(image, false, null);
        CreateBody c = CreateBody.read(body, found.config().config());
        Containers.Created made = containers.create(new Containers.CreateRequest(image, name.isEmpty() ? null : name,
                c.options, c.lifecycle), null, c.apiConfig);
        List<String> warnings = new ArrayList<>(made.warnings());
        warnings.addAll(c.warnings);
        ex.json(Status.CREATED, Map.of("Id", made.id(), "Warnings", warnings));
    }

    /** Docker's container names, checked before anything is made (names with '/' or '..' never reach a path). */
    static String checkName(String name) {
        String n = name.startsWith("/") ? name.substring(1) : name;
        if (!n.matches("[a-zA-Z0-9][a-zA-Z0-9_.-]+")) {
            throw ApiException.badRequest("Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }
        return n;
    }

    // ---------------------------------------------------------------- list

    private void list(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), LIST_FILTERS);
        boolean all = req.queryBool("all", false);
        long limit = req.queryLong("limit", -1);
        boolean size = req.queryBool("size", false);
        for (String s : f.get("status")) {
            if (!STATUSES.contains(s)) {
                throw ApiException.badRequest("invalid filter 'status=" + s + "'");
            }
        }
        List<Integer> exited = new ArrayList<>();
        for (String e : f.get("exited")) {
            try {
                exited.add(Integer.parseInt(e));
            } catch (NumberFormatException bad) {
                throw ApiException.badRequest("invalid filter 'exited=" + e + "'");
            }
        }
        if (f.has("exited") || f.has("status")) {
            all = true; // as dockerd: these filters look at stopped containers too
        }
        List<Containers.Info> infos = containers.list();
        Instant before = null;
        Instant since = null;
        if (f.has("before")) {
            before = reference(f.get("before").getFirst(), "before").created();
        }
        if (f.has("since")) {
            since = reference(f.get("since").getFirst(), "since").created();
        }
        if (f.has("health")) {
            for (String h : f.get("health")) {
                if (!HEALTH_FILTER_VALUES.contains(h)) {
                    throw ApiException.badRequest("Unrecognised filter value for health: " + h);
                }
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Containers.Info i : infos) {
            if (limit > 0 && out.size() >= limit) {
                break;
            }
            String status = i.status();
            boolean running = status.equals("running") || status.equals("paused") || status.equals("restarting");
            if (!all && limit <= 0 && !running) {
                continue;
            }
            if (before != null && !i.created().isBefore(before) || since != null && !i.created().isAfter(since)) {
                continue;
            }
            if (f.has("id") && f.get("id").stream().noneMatch(x -> i.id().startsWith(x))) {
                continue;
            }
            if (f.has("name") && f.get("name").stream().noneMatch(x -> nameMatches(x, i.name()))) {
                continue;
            }
            if (f.has("status") && !f.get("status").contains(status)) {
                continue;
            }
            if (!exited.isEmpty() && (!status.equals("exited") || i.exitCode() == null
                    || !exited.contains(i.exitCode()))) {
                continue;
            }
            if (f.has("ancestor") && f.get("ancestor").stream().noneMatch(a -> ancestorMatches(a, i))) {
                continue;
            }
            if (f.has("volume") && f.get("volume").stream().noneMatch(v -> i.volumes().contains(v))) {
                continue;
            }
            if (f.has("health")
                    && !f.get("health").contains(health.state(i.id()).map(Health.State::status).orElse("none"))) {
                continue;
            }
            if (f.has("is-task") && f.bool("is-task")) {
                continue; // no swarm tasks
            }
            Containers.Inspect in;
            JsonNode api;
            try {
                in = containers.inspect(i.id());
                api = containers.apiConfig(i.id());
            } catch (NoSuchFileException removed) {
                continue;
            }
            Map<String, String> labels = labels(api);
            if (f.has("label") && !f.labelsMatch("label", labels)) {
                continue;
            }
            String networkMode = networkMode(api);
            if (f.has("network") && !f.get("network").contains(networkMode)) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Id", i.id());
            m.put("Names", List.of("/" + i.name()));
            m.put("Image", i.imageName());
            m.put("ImageID", i.image().toString());
            m.put("Command", String.join(" ", i.command()));
            m.put("Created", i.created().getEpochSecond());
            List<io.vessel.engine.network.Attachment> attached = containers.networkAttachments(i.id());
            m.put("Ports", NetworkCreateOptions.summary(attached));
            if (size) {
                long rw = upperSize(i.id());
                m.put("SizeRw", rw);
                m.put("SizeRootFs", rw + imageSize(i.image()));
            }
            m.put("Labels", labels);
            m.put("State", status);
            m.put("Status", statusText(in.state()) + (in.state().running()
                    ? health.state(i.id()).map(h -> h.status().equals(Health.State.STARTING) ? " (health: starting)"
                    : " (" + h.status() + ")").orElse("") : ""));
            m.put("HostConfig", Map.of("NetworkMode", networkMode));
            m.put("NetworkSettings", Map.of("Networks", NetworkJson.settings(attached).get("Networks")));
            m.put("Mounts", mounts(i.id()));
            out.add(m);
        }
        ex.json(Status.OK, out);
    }

    /** What a container wrote: the bytes of the regular files in its writable layer. */
    private long upperSize(String id) throws IOException {
        Path upper = engine.config().containersDir().resolve(id).resolve("upper");
        if (!Files.isDirectory(upper)) {
            return 0;
        }
        long[] total = {0};
        Files.walkFileTree(upper, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a) {
                if (a.isRegularFile()) {
                    total[0] += a.size();
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path f, IOException e) {
                return java.nio.file.FileVisitResult.CONTINUE; // removed while walking
            }
        });
        return total[0];
    }

    private long imageSize(io.vessel.image.Digest image) throws IOException {
        for (var summary : engine.images().list(true)) {
            if (summary.id().equals(image)) {
                return summary.size();
            }
        }
        return 0;
    }

    private Containers.Info reference(String what, String filter) throws IOException {
        Containers.Info i = containers.find(what);
        if (i == null) {
            throw ApiException.notFound("No such container: " + what + " (in the filter '" + filter + "')");
        }
        return i;
    }

    /** dockerd's name filter: a regular expression searched in the name with its slash. */
    private static boolean nameMatches(String filter, String name) {
        try {
            return Pattern.compile(filter).matcher("/" + name).find();
        } catch (java.util.regex.PatternSyntaxException e) {
            throw ApiException.badRequest("invalid filter 'name=" + filter + "': " + e.getDescription());
        }
    }

    private boolean ancestorMatches(String ancestor, Containers.Info i) {
        if (i.image().toString().equals(ancestor) || i.image().hex().startsWith(ancestor)
                || i.imageName().equals(ancestor)) {
            return true;
        }
        try {
            return engine.images().store().resolve(ancestor).id().equals(i.image());
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Map<String, String> labels(JsonNode api) {
        JsonNode l = api.get("Config").get("Labels");
        return CreateBody.has(l) ? l.stringMap() : Map.of();
    }

    private static String networkMode(JsonNode api) {
        String mode = CreateBody.str(api.get("HostConfig").get("NetworkMode"), "");
        return mode.isEmpty() || mode.equals("default") ? "bridge" : mode;
    }

    /** The Status column of docker ps: "Up 5 seconds", "Exited (0) 3 minutes ago", "Created". */
    static String statusText(Containers.State s) {
        Instant now = Instant.now();
        return switch (s.status()) {
            case "running" -> "Up " + humanDuration(Duration.between(s.startedAt(), now));
            case "paused" -> "Up " + humanDuration(Duration.between(s.startedAt(), now)) + " (Paused)";
            case "restarting" -> "Restarting (" + s.exitCode() + ") "
                    + humanDuration(Duration.between(s.finishedAt() == null ? now : s.finishedAt(), now)) + " ago";
            case "exited" -> s.finishedAt() == null ? "Exited (" + s.exitCode() + ")" : "Exited (" + s.exitCode() + ") "
                    + humanDuration(Duration.between(s.finishedAt(), now)) + " ago";
            case "created" -> "Created";
            case "dead" -> "Dead";
            default -> s.status();
        };
    }

    /** A duration in words, as docker's CLI and daemon write it (the units of go-units' HumanDuration). */
    static String humanDuration(Duration d) {
        long seconds = Math.max(0, d.toSeconds());
        long minutes = seconds / 60;
        long hours = minutes / 60;
        if (seconds < 1) {
            return "Less than a second";
        } else if (seconds == 1) {
            return "1 second";
        } else if (seconds < 60) {
            return seconds + " seconds";
        } else if (minutes == 1) {
            return "About a minute";
        } else if (minutes < 60) {
            return minutes + " minutes";
        } else if (hours == 1) {
            return "About an hour";
        } else if (hours < 48) {
            return hours + " hours";
        } else if (hours < 24 * 7 * 2) {
            return hours / 24 + " days";
        } else if (hours < 24 * 30 * 2) {
            return hours / 24 / 7 + " weeks";
        } else if (hours < 24 * 365 * 2) {
            return hours / 24 / 30 + " months";
        }
        return hours / 24 / 365 + " years";
    }

    // ---------------------------------------------------------------- inspect

    private void inspect(HttpRequest req, HttpExchange ex) throws IOException {
        ex.json(Status.OK, inspectJson(req.param("id")));
    }

    Map<String, Object> inspectJson(String what) throws IOException {
        Containers.Inspect in = containers.inspect(what);
        JsonNode api = containers.apiConfig(in.id());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Id", in.id());
        m.put("Created", time(in.created()));
        m.put("Path", in.path());
        m.put("Args", in.args());
        Containers.State s = in.state();
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("Status", s.status());
        state.put("Running", s.running());
        state.put("Paused", s.paused());
        state.put("Restarting", s.restarting());
        state.put("OOMKilled", s.oomKilled());
        state.put("Dead", s.dead());
        state.put("Pid", s.pid());
        state.put("ExitCode", s.exitCode());
        state.put("Error", s.error());
        state.put("StartedAt", time(s.startedAt()));
        state.put("FinishedAt", time(s.finishedAt()));
        health.state(in.id()).ifPresent(h -> state.put("Health", healthJson(h)));
        m.put("State", state);
        m.put("Image", in.image().toString());
        Path containerDir = engine.config().containersDir().resolve(in.id());
        List<io.vessel.engine.network.Attachment> attached = containers.networkAttachments(in.id());
        // a container on bridge networks has the hosts and resolv.conf its networks keep
        m.put("ResolvConfPath", attached.isEmpty() ? containerDir.resolve("resolv.conf").toString()
                : attached.getFirst().resolvConfPath().toString());
        m.put("HostnamePath", containerDir.resolve("hostname").toString());
        m.put("HostsPath", attached.isEmpty() ? containerDir.resolve("hosts").toString()
                : attached.getFirst().hostsPath().toString());
        m.put("LogPath", in.logPath().toString());
        m.put("Name", "/" + in.name());
        m.put("RestartCount", in.restartCount());
        m.put("Driver", "overlay2");
        m.put("Platform", "linux");
        m.put("MountLabel", "");
        m.put("ProcessLabel", "");
        m.put("AppArmorProfile", "");
        m.put("ExecIDs", null);
        m.put("HostConfig", hostConfig(in, api));
        m.put("GraphDriver", Map.of("Name", "overlay2", "Data", Map.of(
                "UpperDir", containerDir.resolve("upper").toString(),
                "WorkDir", containerDir.resolve("work").toString(),
                "MergedDir", containerDir.resolve("rootfs").toString())));
        m.put("Mounts", mounts(in.id()));
        m.put("Config", config(in, api));
        JsonNode exposed = api.get("Config").get("ExposedPorts");
        m.put("NetworkSettings", NetworkJson.settings(attached,
                containers.networkNamespace(in.id()).orElse(null),
                CreateBody.has(exposed) && exposed.isObject() ? exposed.keys() : List.of(),
                containers.networkAliases(in.id())));
        return m;
    }

    private static String time(Instant t) {
        return t == null ? ZERO_TIME : DateTimeFormatter.ISO_INSTANT.format(t);
    }

    private Map<String, Object> config(Containers.Inspect in, JsonNode api) {
        Map<String, Object> c = new LinkedHashMap<>();
        JsonNode stored = api.get("Config");
        c.put("Hostname", in.hostname());
        c.put("Domainname", CreateBody.str(stored.get("Domainname"), ""));
        c.put("User", CreateBody.str(stored.get("User"), ""));
        c.put("AttachStdin", CreateBody.bool(stored.get("AttachStdin")));
        c.put("AttachStdout", CreateBody.bool(stored.get("AttachStdout")));
        c.put("AttachStderr", CreateBody.bool(stored.get("AttachStderr")));
        c.put("ExposedPorts", CreateBody.has(stored.get("ExposedPorts")) ? stored.get("ExposedPorts").value() : null);
        c.put("Tty", in.tty());
        c.put("OpenStdin", in.lifecycle().openStdin());
        c.put("StdinOnce", in.lifecycle().stdinOnce());
        c.put("Env", in.env());
        List<String> full = new ArrayList<>();
        if (!in.path().isEmpty()) {
            full.add(in.path());
        }
        full.addAll(in.args());
        c.put("Cmd", CreateBody.has(stored.get("Cmd")) ? stored.get("Cmd").value() : full);
        c.put("Image", in.imageName());
        c.put("Volumes", CreateBody.has(stored.get("Volumes")) ? stored.get("Volumes").value() : null);
        c.put("WorkingDir", in.workingDir());
        c.put("Entrypoint", CreateBody.has(stored.get("Entrypoint")) ? stored.get("Entrypoint").value() : null);
        c.put("OnBuild", null);
        c.put("Labels", labels(api));
        if (in.lifecycle().stopSignal() != null) {
            c.put("StopSignal", in.lifecycle().stopSignal());
        }
        if (in.lifecycle().stopTimeout() != null) {
            c.put("StopTimeout", in.lifecycle().stopTimeout());
        }
        return c;
    }

    private Map<String, Object> hostConfig(Containers.Inspect in, JsonNode api) {
        Map<String, Object> h = new LinkedHashMap<>();
        JsonNode stored = api.get("HostConfig");
        for (String k : List.of("Binds", "ContainerIDFile", "PortBindings", "CapAdd", "CapDrop", "Dns", "DnsOptions",
                "DnsSearch", "ExtraHosts", "GroupAdd", "Tmpfs", "Mounts", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices")) {
            h.put(k, CreateBody.has(stored.get(k)) ? stored.get(k).value() : null);
        }
        h.put("NetworkMode", networkMode(api));
        h.put("RestartPolicy", Map.of("Name", in.lifecycle().restart().name(), "MaximumRetryCount",
                in.lifecycle().restart().maximumRetryCount()));
        h.put("AutoRemove", in.lifecycle().autoRemove());
        Map<String, String> logOpts = new LinkedHashMap<>();
        if (in.lifecycle().log().maxSize() > 0) {
            logOpts.put("max-size", Long.toString(in.lifecycle().log().maxSize()));
        }
        if (in.lifecycle().log().maxFile() > 1) {
            logOpts.put("max-file", Integer.toString(in.lifecycle().log().maxFile()));
        }
        h.put("LogConfig", Map.of("Type", "json-file", "Config", logOpts));
        h.put("Privileged", CreateBody.bool(stored.get("Privileged")));
        h.put("ReadonlyRootfs", CreateBody.bool(stored.get("ReadonlyRootfs")));
        h.put("Init", CreateBody.has(stored.get("Init")) ? stored.get("Init").value() : null);
        for (String k : List.of("Memory", "NanoCpus", "CpuShares", "PidsLimit", "MemorySwap", "CpuQuota", "CpuPeriod")) {
            h.put(k, CreateBody.has(stored.get(k)) ? stored.get(k).value() : 0L);
        }
        h.put("ShmSize", CreateBody.has(stored.get("ShmSize")) ? stored.get("ShmSize").value() : 67108864L);
        return h;
    }

    /** inspect's Mounts, read from the bundle: volumes, binds and tmpfs the user asked for. */
    private List<Map<String, Object>> mounts(String id) {
        Spec spec;
        try {
            spec = containers.spec(id);
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        Map<Path, String> volumes = new LinkedHashMap<>(); // a volume's _data directory → its name
        try {
            for (String name : containers.inspect(id).volumes()) {
                try {
                    volumes.put(engine.volumes().inspect(name).mountpoint(), name);
                } catch (IOException | RuntimeException gone) {
                    // removed meanwhile: not listed
                }
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Spec.Mount mount : spec.mounts()) {
            if (BUNDLE_MOUNTS.contains(mount.destination())) {
                continue;
            }
            boolean rw = !mount.options().contains("ro");
            Map<String, Object> m = new LinkedHashMap<>();
            Path source = mount.source() == null ? null : Path.of(mount.source());
            if (source != null && volumes.containsKey(source)) {
                m.put("Type", "volume");
                m.put("Name", volumes.get(source));
                m.put("Source", source.toString());
                m.put("Destination", mount.destination());
                m.put("Driver", "local");
                m.put("Mode", rw ? "z" : "ro");
            } else if ("tmpfs".equals(mount.type())) {
                m.put("Type", "tmpfs");
                m.put("Source", "");
                m.put("Destination", mount.destination());
                m.put("Mode", "");
            } else if (mount.options().contains("bind") || mount.options().contains("rbind")) {
                m.put("Type", "bind");
                m.put("Source", mount.source());
                m.put("Destination", mount.destination());
                m.put("Mode", "");
            } else {
                continue;
            }
            m.put("RW", rw);
            m.put("Propagation", m.get("Type").equals("bind") ? "rprivate" : "");
            out.add(m);
        }
        return out;
    }

    // ---------------------------------------------------------------- lifecycle verbs

    private void start(HttpRequest req, HttpExchange ex) throws Exception {
        String id = req.param("id");
        boolean started;
        try {
            started = containers.start(id);
        } catch (IOException | RuntimeException e) {
            // --rm applies to a container that could not start too, as dockerd does (docker run waits for "removed")
            try {
                Containers.Inspect in = containers.inspect(id);
                if (in.lifecycle().autoRemove() && !in.state().running()) {
                    containers.remove(in.id(), true, true);
                }
            } catch (IOException | RuntimeException removedAlready) {
                e.addSuppressed(removedAlready);
            }
            throw startFailure(e);
        }
        ex.empty(started ? Status.NO_CONTENT : Status.NOT_MODIFIED);
    }

    /**
     * The errno texts a failed start reports as Go spells them (lowercase), as in dockerd's messages:
     * the docker CLI reads them to exit 127 (command not found) or 126 (not executable).
     */
    private static final Map<String, String> GO_ERRNO_TEXT = Map.of(
            "No such file or directory", "no such file or directory",
            "Permission denied", "permission denied",
            "Is a directory", "is a directory");

    private static Exception startFailure(Exception e) {
        if (e instanceof ApiException || e instanceof NoSuchFileException || e instanceof IllegalStateException
                || e instanceof IllegalArgumentException) {
            return e;
        }
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        for (Map.Entry<String, String> t : GO_ERRNO_TEXT.entrySet()) {
            if (m.contains(t.getKey())) {
                return ApiException.badRequest("failed to start the container: " + m.replace(t.getKey(), t.getValue()));
            }
        }
        return e;
    }

    private static Integer timeout(HttpRequest req) {
        String t = req.query("t");
        return t == null || t.isEmpty() ? null : (int) req.queryLong("t", 0);
    }

    private void stop(HttpRequest req, HttpExchange ex) throws IOException {
        boolean stopped = containers.stop(req.param("id"), timeout(req), req.query("signal"));
        ex.empty(stopped ? Status.NO_CONTENT : Status.NOT_MODIFIED);
    }

    private void kill(HttpRequest req, HttpExchange ex) throws IOException {
        containers.kill(req.param("id"), req.query("signal"));
        ex.empty(Status.NO_CONTENT);
    }

    private void restart(HttpRequest req, HttpExchange ex) throws IOException {
        String signal = req.query("signal");
        if (signal != null && !signal.isEmpty()) {
            containers.stop(req.param("id"), timeout(req), signal);
        }
        containers.restart(req.param("id"), timeout(req));
        ex.empty(Status.NO_CONTENT);
    }

    private void pause(HttpRequest req, HttpExchange ex) throws IOException {
        containers.pause(req.param("id"));
        ex.empty(Status.NO_CONTENT);
    }

    private void unpause(HttpRequest req, HttpExchange ex) throws IOException {
        containers.unpause(req.param("id"));
        ex.empty(Status.NO_CONTENT);
    }

    /**
     * docker wait: the headers go out as soon as the waiter is registered (the CLI's wait returns
     * then, before it starts the container), the result when the condition holds.
     */
    private void await(HttpRequest req, HttpExchange ex) throws IOException {
        Containers.WaitCondition condition = Containers.WaitCondition.parse(req.query("condition"));
        String id = req.param("id");
        OutputStream[] body = new OutputStream[1];
        ex.watchDisconnect(Thread.currentThread());
        int code;
        try {
            code = containers.await(id, condition, () -> {
                try {
                    body[0] = ex.stream(Status.OK, "application/json");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return; // the client left
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("StatusCode", code);
        String error = null;
        try {
            error = containers.inspect(id).state().error();
        } catch (NoSuchFileException removed) {
            // removed (condition=removed, or --rm): no error to tell
        }
        if (error != null && !error.isEmpty()) {
            result.put("Error", Map.of("Message", error));
        }
        body[0].write((io.vessel.json.Json.write(result) + "\n").getBytes(StandardCharsets.UTF_8));
        body[0].close();
    }

    private void remove(HttpRequest req, HttpExchange ex) throws IOException {
        if (req.queryBool("link", false)) {
            throw ApiException.badRequest("links are not supported by Vessel: there is no link to remove");
        }
        containers.remove(req.param("id"), req.queryBool("force", false), req.queryBool("v", false));
        ex.empty(Status.NO_CONTENT);
    }

    private void rename(HttpRequest req, HttpExchange ex) throws IOException {
        String name = req.query("name", "");
        if (name.isEmpty()) {
            throw ApiException.badRequest("rename: the new name is required (query parameter name)");
        }
        containers.rename(req.param("id"), checkName(name));
        ex.empty(Status.NO_CONTENT);
    }

    private void prune(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), PRUNE_FILTERS);
        Instant until = f.has("until") ? untilFilter(f.get("until").getFirst()) : null;
        List<String> deleted = new ArrayList<>();
        for (Containers.Info i : containers.list()) {
            if (!i.status().equals("exited") && !i.status().equals("created") && !i.status().equals("dead")) {
                continue;
            }
            if (until != null && !i.created().isBefore(until)) {
                continue;
            }
            if (f.has("label") && !f.labelsMatch("label", labels(containers.apiConfig(i.id())))) {
                continue;
            }
            try {
                containers.remove(i.id(), false, false);
                deleted.add(i.id());
            } catch (NoSuchFileException | IllegalStateException raced) {
                // removed or started meanwhile
            }
        }
        ex.json(Status.OK, Map.of("ContainersDeleted", deleted, "SpaceReclaimed", 0L));
    }

    /** The until filter: a Unix time (with fraction), an RFC 3339 time, or a Go duration ago (10m, 1h30m). */
    static Instant untilFilter(String v) {
        try {
            return unixTime(v);
        } catch (IllegalArgumentException notUnix) {
            // next form
        }
        try {
            return Instant.parse(v);
        } catch (java.time.format.DateTimeParseException notRfc) {
            // next form
        }
        java.util.regex.Matcher m = Pattern.compile("(\\d+)(h|m|s|ms)").matcher(v);
        long millis = 0;
        int end = 0;
        while (m.find() && m.start() == end) {
            long n = Long.parseLong(m.group(1));
            millis += switch (m.group(2)) {
                case "h" -> n * 3_600_000;
                case "m" -> n * 60_000;
                case "s" -> n * 1000;
                default -> n;
            };
            end = m.end();
        }
        if (end == 0 || end != v.length()) {
            throw ApiException.badRequest("invalid filter 'until=" + v + "': a Unix time, an RFC 3339 time or a "
                    + "duration (1h30m) is expected");
        }
        return Instant.now().minusMillis(millis);
    }

    /** Docker's timestamps in query parameters: seconds since the epoch, optionally with a fraction. */
    static Instant unixTime(String v) {
        if (!v.matches("-?\\d+(\\.\\d{1,9})?")) {
            throw new IllegalArgumentException("\"" + v + "\" is not a Unix time");
        }
        BigDecimal d = new BigDecimal(v);
        long secs = d.longValue();
        long nanos = d.subtract(BigDecimal.valueOf(secs)).movePointRight(9).longValue();
        return Instant.ofEpochSecond(secs, nanos);
    }

    // ---------------------------------------------------------------- top, stats

    private void top(HttpRequest req, HttpExchange ex) throws IOException {
        String args = req.query("ps_args", "");
        if (!args.matches("[A-Za-z0-9 ,=_-]*")) {
            throw ApiException.badRequest("ps_args \"" + args + "\" has characters ps options do not have");
        }
        Containers.Top t = containers.top(req.param("id"), args);
        ex.json(Status.OK, Map.of("Titles", t.titles(), "Processes", t.processes()));
    }

    private void stats(HttpRequest req, HttpExchange ex) throws IOException, InterruptedException {
        String id = req.param("id");
        Containers.Inspect in = containers.inspect(id);
        boolean stream = req.queryBool("stream", true);
        boolean oneShot = req.queryBool("one-shot", false);
        Sample pre = sample(in.id());
        if (!stream) {
            if (!oneShot && pre != null) {
                Thread.sleep(STATS_INTERVAL);
            }
            Sample now = pre == null ? null : sample(in.id());
            ex.json(Status.OK, statsJson(in, now, oneShot ? null : pre));
            return;
        }
        ex.watchDisconnect(Thread.currentThread());
        try (HttpExchange.JsonLines out = ex.jsonLines(Status.OK)) {
            Sample previous = null;
            while (true) {
                Sample now = sample(in.id());
                out.send(statsJson(in, now, previous));
                if (now == null) {
                    return; // no longer running: dockerd ends the stream too
                }
                previous = now;
                try {
                    Thread.sleep(STATS_INTERVAL);
                } catch (InterruptedException e) {
                    return; // the client left
                }
            }
        }
    }

    /** One reading of a container's cgroup and of the host's CPU time. */
    private record Sample(Instant read, JsonNode data, long systemCpuNanos, int onlineCpus) {
    }

    private Sample sample(String id) {
        try {
            Map<String, Object> s = containers.stats(id);
            JsonNode data = JsonNode.root("stats", s).get("data");
            long[] cpu = hostCpu();
            return new Sample(Instant.now(), data, cpu[0], (int) cpu[1]);
        } catch (IOException | RuntimeException notRunning) {
            return null;
        }
    }

    /** The host's CPU time in nanoseconds (the first line of /proc/stat) and the number of CPUs. */
    private static long[] hostCpu() throws IOException {
        long ticks = 0;
        int cpus = 0;
        for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
            if (line.startsWith("cpu ")) {
                String[] f = line.trim().split("\\s+");
                for (int i = 1; i < Math.min(f.length, 8); i++) { // user nice system idle iowait irq softirq
                    ticks += Long.parseLong(f[i]);
                }
            } else if (line.startsWith("cpu")) {
                cpus++;
            }
        }
        return new long[]{ticks * (1_000_000_000L / USER_HZ), cpus};
    }

    private static long num(JsonNode n) {
        if (!n.present() || n.value() == null) {
            return 0;
        }
        return n.value() instanceof Number x ? (x instanceof java.math.BigInteger b && b.bitLength() > 63
                ? Long.MAX_VALUE : x.longValue()) : 0;
    }

    private static Map<String, Object> cpuStats(Sample s) {
        Map<String, Object> usage = new LinkedHashMap<>();
        Map<String, Object> c = new LinkedHashMap<>();
        if (s == null) {
            usage.put("total_usage", 0L);
            usage.put("usage_in_kernelmode", 0L);
            usage.put("usage_in_usermode", 0L);
            c.put("cpu_usage", usage);
            c.put("throttling_data", Map.of("periods", 0L, "throttled_periods", 0L, "throttled_time", 0L));
            return c;
        }
        JsonNode cpu = s.data().get("cpu");
        usage.put("total_usage", num(cpu.get("usage").get("total")));
        List<Long> percpu = new ArrayList<>();
        for (JsonNode p : cpu.get("usage").get("percpu").elements()) {
            percpu.add(num(p));
        }
        if (!percpu.isEmpty()) {
            usage.put("percpu_usage", percpu);
        }
        usage.put("usage_in_kernelmode", num(cpu.get("usage").get("kernel")));
        usage.put("usage_in_usermode", num(cpu.get("usage").get("user")));
        c.put("cpu_usage", usage);
        c.put("system_cpu_usage", s.systemCpuNanos());
        c.put("online_cpus", s.onlineCpus());
        JsonNode t = cpu.get("throttling");
        c.put("throttling_data", Map.of("periods", num(t.get("periods")), "throttled_periods",
                num(t.get("throttledPeriods")), "throttled_time", num(t.get("throttledTime"))));
        return c;
    }

    /** The JSON docker stats reads (dockerd's StatsJSON); a container not running gets zeros. */
    private Map<String, Object> statsJson(Containers.Inspect in, Sample now, Sample pre) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("read", now == null ? ZERO_TIME : time(now.read()));
        m.put("preread", pre == null ? ZERO_TIME : time(pre.read()));
        Map<String, Object> pids = new LinkedHashMap<>();
        Map<String, Object> blkio = new LinkedHashMap<>();
        Map<String, Object> memory = new LinkedHashMap<>();
        if (now != null) {
            JsonNode d = now.data();
            pids.put("current", num(d.get("pids").get("current")));
            long pidsLimit = num(d.get("pids").get("limit"));
            if (pidsLimit > 0 && pidsLimit != Long.MAX_VALUE) {
                pids.put("limit", pidsLimit);
            }
            blkio.put("io_service_bytes_recursive", d.get("blkio").get("ioServiceBytesRecursive").value());
            blkio.put("io_serviced_recursive", d.get("blkio").get("ioServicedRecursive").value());
            JsonNode mem = d.get("memory");
            memory.put("usage", num(mem.get("usage").get("usage")));
            memory.put("max_usage", num(mem.get("usage").get("max")));
            Map<String, Object> raw = new LinkedHashMap<>();
            for (String k : mem.get("raw").keys()) {
                raw.put(k, num(mem.get("raw").get(k)));
            }
            memory.put("stats", raw);
            long limit = num(mem.get("usage").get("limit"));
            long host = hostMemory();
            // no limit (cgroup v1's 2^63 rounded to a page, v2's "max"): the host's memory bounds it, as dockerd says
            memory.put("limit", limit <= 0 || limit > host ? host : limit);
        } else {
            blkio.put("io_service_bytes_recursive", null);
        }
        m.put("pids_stats", pids);
        m.put("blkio_stats", blkio);
        m.put("num_procs", 0);
        m.put("storage_stats", Map.of());
        m.put("cpu_stats", cpuStats(now));
        m.put("precpu_stats", cpuStats(pre));
        m.put("memory_stats", memory);
        m.put("name", "/" + in.name());
        m.put("id", in.id());
        return m;
    }

    private static long hostMemory() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------- logs, attach, resize

    private void logs(HttpRequest req, HttpExchange ex) throws IOException, InterruptedException {
        String id = req.param("id");
        Containers.Inspect in = containers.inspect(id);
        boolean stdout = req.queryBool("stdout", false);
        boolean stderr = req.queryBool("stderr", false);
        if (!stdout && !stderr) {
            throw ApiException.badRequest("Bad parameters: you must choose at least one stream");
        }
        String tailText = req.query("tail", "all");
        int tail;
        if (tailText.isEmpty() || tailText.equals("all")) {
            tail = -1;
        } else {
            try {
                tail = Math.max(0, Integer.parseInt(tailText));
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("tail must be a number or \"all\", not \"" + tailText + "\"");
            }
        }
        Instant since = timeParam(req, "since");
        Instant until = timeParam(req, "until");
        boolean follow = req.queryBool("follow", false);
        boolean timestamps = req.queryBool("timestamps", false);
        JsonFileLog.Query q = new JsonFileLog.Query(stdout, stderr, tail, since, until, follow);
        boolean tty = in.tty();
        if (follow) {
            ex.watchDisconnect(Thread.currentThread());
        }
        OutputStream out = ex.stream(Status.OK, StdStreams.mediaType(tty));
        try {
            followLogs(in.id(), q, timestamps, tty, out);
            out.close();
        } catch (java.nio.channels.ClosedByInterruptException clientLeft) {
            // watchDisconnect interrupted a read of the log or a write to the socket: the client left,
            // as followers do (Testcontainers' log waits); not a failure of the daemon
            InterruptedException ended = new InterruptedException("the client left the log stream");
            ended.initCause(clientLeft);
            throw ended;
        }
    }

    private void followLogs(String id, JsonFileLog.Query q, boolean timestamps, boolean tty, OutputStream out)
            throws IOException {
        containers.logs(id, q, e -> {
            byte[] data = e.data();
            if (timestamps) {
                byte[] prefix = (DateTimeFormatter.ISO_INSTANT.format(e.time().truncatedTo(ChronoUnit.NANOS)) + " ")
                        .getBytes(StandardCharsets.UTF_8);
                byte[] both = new byte[prefix.length + data.length];
                System.arraycopy(prefix, 0, both, 0, prefix.length);
                System.arraycopy(data, 0, both, prefix.length, data.length);
                data = both;
            }
            try {
                StdStreams.write(out, tty, e.stream().equals("stderr") ? StdStreams.STDERR : StdStreams.STDOUT,
                        data, 0, data.length);
                return !Thread.currentThread().isInterrupted();
            } catch (IOException gone) {
                return false;
            }
        });
    }

    /** since/until: Unix times; 0 or absent means none. */
    private static Instant timeParam(HttpRequest req, String name) {
        String v = req.query(name, "");
        if (v.isEmpty() || v.equals("0")) {
            return null;
        }
        try {
            return unixTime(v);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(name + " must be a Unix time (seconds, optionally with a fraction), not \""
                    + v + "\"");
        }
    }

    private void attach(HttpRequest req, HttpExchange ex) throws IOException {
        String id = req.param("id");
        Containers.Inspect in = containers.inspect(id);
        boolean stream = req.queryBool("stream", false);
        boolean logs = req.queryBool("logs", false);
        boolean stdin = req.queryBool("stdin", false);
        boolean stdout = req.queryBool("stdout", false);
        boolean stderr = req.queryBool("stderr", false);
        Attachment a = stream ? containers.attach(in.id(), stdin, stdout, stderr) : null;
        HttpExchange.Hijacked h;
        try {
            h = ex.hijack(StdStreams.mediaType(in.tty()));
        } catch (IOException | RuntimeException e) {
            if (a != null) {
                a.close();
            }
            throw e;
        }
        try (Attachment att = a) {
            if (logs && (stdout || stderr)) {
                containers.logs(in.id(), new JsonFileLog.Query(stdout, stderr, -1, null, null, false), e -> {
                    StdStreams.write(h.out(), in.tty(), e.stream().equals("stderr") ? StdStreams.STDERR
                            : StdStreams.STDOUT, e.data(), 0, e.data().length);
                    return true;
                });
            }
            if (att != null) {
                pump(h, att, stdin && in.lifecycle().openStdin());
            }
        } finally {
            h.closeWrite().run();
        }
    }

    /** State.Health as dockerd shows it. */
    private static Map<String, Object> healthJson(Health.State h) {
        List<Map<String, Object>> log = new ArrayList<>();
        for (Health.Result r : h.log()) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("Start", time(r.start()));
            one.put("End", time(r.end()));
            one.put("ExitCode", r.exitCode());
            one.put("Output", r.output());
            log.add(one);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Status", h.status());
        m.put("FailingStreak", h.failingStreak());
        m.put("Log", log);
        return m;
    }

    /**
     * Copies a client's hijacked connection to an attachment and back: input on a thread of its
     * own (its end closes the process's stdin when asked), output here until the process ends it.
     */
    static void pump(HttpExchange.Hijacked h, Attachment a, boolean stdin) throws IOException {
        if (stdin) {
            Thread.ofVirtual().name("attach-stdin").start(() -> {
                try {
                    InputStream in = h.in();
                    OutputStream to = a.input();
                    byte[] buf = new byte[8192];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        to.write(buf, 0, n);
                        to.flush();
                    }
                    a.closeInput();
                } catch (IOException | RuntimeException gone) {
                    // the client or the process went away
                }
            });
        }
        InputStream out = a.output();
        byte[] buf = new byte[16384];
        int n;
        try {
            while ((n = out.read(buf)) > 0) {
                h.out().write(buf, 0, n);
                h.out().flush();
            }
        } catch (IOException clientOrProcessGone) {
            // either side closed: the attachment ends
        }
    }

    private void resize(HttpRequest req, HttpExchange ex) throws IOException {
        int h = (int) req.queryLong("h", 0);
        int w = (int) req.queryLong("w", 0);
        if (h < 0 || w < 0 || h > 0xffff || w > 0xffff) {
            throw ApiException.badRequest("resize: h and w must be from 0 to 65535");
        }
        Containers.Inspect in = containers.inspect(req.param("id"));
        if (!in.state().running()) {
            throw ApiException.conflict("Container " + in.id() + " is not running");
        }
        containers.resize(in.id(), h, w);
        ex.empty(Status.OK);
    }
}
