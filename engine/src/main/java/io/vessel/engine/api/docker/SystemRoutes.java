package io.vessel.engine.api.docker;

import io.vessel.engine.Containers;
import io.vessel.engine.Engine;
import io.vessel.engine.Images;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.engine.events.Event;
import io.vessel.engine.events.EventLog;
import io.vessel.engine.volume.Volume;
import io.vessel.engine.volume.VolumeStore;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.store.ImageStore;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** {@code /_ping}, {@code /version}, {@code /info}, {@code /events} and {@code /system/df}. */
final class SystemRoutes {
    /** The builder the daemon has: "1", the classic one (BuildKit's is "2"). */
    static final String BUILDER_VERSION = "1";
    /** How often an idle event stream checks whether its end time has passed. */
    private static final long EVENT_POLL_MILLIS = 500;
    private static final Set<String> EVENT_FILTERS = Set.of("type", "event", "image", "volume", "container", "label", "scope");
    /** Actions with a suffix, which event filters match as prefixes (dockerd's daemon/events/filter.go). */
    private static final Set<String> PREFIX_EVENTS = Set.of("health_status", "exec_create", "exec_start");
    private static final Set<String> DF_TYPES = Set.of("container", "image", "volume", "build-cache");

    private final Engine engine;

    SystemRoutes(Engine engine) {
        this.engine = engine;
    }

    void register(Router r) {
        r.get("/_ping", this::ping).head("/_ping", this::ping);
        r.get("/version", this::version);
        r.get("/info", this::info);
        r.get("/events", this::events);
        r.get("/system/df", this::df);
        r.post("/auth", this::auth);
    }

    /** docker login: the registry checks the credentials; the CLI stores them, the daemon does not. */
    private void auth(HttpRequest req, HttpExchange ex) throws IOException {
        io.vessel.json.JsonNode body = req.readJson("auth", false);
        body.only("username", "password", "serveraddress", "email", "auth", "identitytoken", "registrytoken");
        String user = body.get("username").string("");
        String password = body.get("password").string("");
        String server = body.get("serveraddress").string("");
        if (user.isEmpty()) {
            throw ApiException.badRequest("auth: username is required");
        }
        String registry = server.isEmpty() || server.contains("index.docker.io") || server.contains("registry-1.docker.io")
                ? "registry-1.docker.io" : server.replaceFirst("^https?://", "").replaceFirst("/.*$", "");
        try {
            engine.images().checkLogin(registry, new io.vessel.image.registry.Credentials(user, password));
        } catch (io.vessel.image.registry.RegistryException e) {
            if (e.unauthorized()) {
                throw new ApiException(Status.UNAUTHORIZED, "login to " + registry + " as " + user + " failed: " + e.getMessage(), e);
            }
            throw e;
        }
        ex.json(Status.OK, Map.of("Status", "Login Succeeded", "IdentityToken", ""));
    }

    private void ping(HttpRequest req, HttpExchange ex) throws IOException {
        ex.header("Builder-Version", BUILDER_VERSION).header("Swarm", "inactive")
                .header("Cache-Control", "no-cache, no-store, must-revalidate").header("Pragma", "no-cache");
        ex.text(Status.OK, "OK");
    }

    private void version(HttpRequest req, HttpExchange ex) throws IOException {
        String kernel = Host.kernelVersion();
        String java = "java " + Runtime.version();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("ApiVersion", ApiVersion.MAX.toString());
        details.put("Arch", Host.arch());
        details.put("BuildTime", "");
        details.put("Experimental", "false");
        details.put("GitCommit", "");
        details.put("GoVersion", java);
        details.put("KernelVersion", kernel);
        details.put("MinAPIVersion", ApiVersion.MIN.toString());
        details.put("Os", "linux");
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("Platform", Map.of("Name", "Vessel Engine " + DockerApi.VERSION));
        v.put("Components", List.of(
                Map.of("Name", "Engine", "Version", DockerApi.DOCKER_VERSION, "Details", details),
                Map.of("Name", "Vessel", "Version", DockerApi.VERSION, "Details", Map.of("GitCommit", ""))));
        v.put("Version", DockerApi.DOCKER_VERSION);
        v.put("ApiVersion", ApiVersion.MAX.toString());
        v.put("MinAPIVersion", ApiVersion.MIN.toString());
        v.put("GitCommit", "");
        v.put("GoVersion", java);
        v.put("Os", "linux");
        v.put("Arch", Host.arch());
        v.put("KernelVersion", kernel);
        v.put("BuildTime", "");
        ex.json(Status.OK, v);
    }

    private void info(HttpRequest req, HttpExchange ex) throws IOException {
        List<Containers.Info> containers = engine.containers().list();
        long running = containers.stream().filter(c -> "running".equals(c.status())).count();
        long paused = containers.stream().filter(c -> "paused".equals(c.status())).count();
        Map<String, Object> i = new LinkedHashMap<>();
        i.put("ID", daemonId());
        i.put("Containers", containers.size());
        i.put("ContainersRunning", running);
        i.put("ContainersPaused", paused);
        i.put("ContainersStopped", containers.size() - running - paused);
        i.put("Images", engine.images().list(false).size());
        i.put("Driver", "overlay");
        i.put("DriverStatus", List.of(List.of("Backing Filesystem", "overlayfs layers in " + engine.config().root().resolve("layers"))));
        i.put("Plugins", Map.of("Volume", List.of(Volume.LOCAL), "Network", List.of(), "Authorization", List.of(),
                "Log", List.of()));
        i.put("MemoryLimit", true);
        i.put("SwapLimit", true);
        i.put("CpuCfsPeriod", true);
        i.put("CpuCfsQuota", true);
        i.put("CPUShares", true);
        i.put("CPUSet", true);
        i.put("PidsLimit", true);
        i.put("IPv4Forwarding", readFlag("/proc/sys/net/ipv4/ip_forward"));
        i.put("Debug", false);
        i.put("NFd", countFds());
        i.put("OomKillDisable", false);
        i.put("NGoroutines", Thread.activeCount());
        i.put("SystemTime", Instant.now().toString());
        i.put("LoggingDriver", "json-file");
        i.put("CgroupDriver", "cgroupfs");
        i.put("CgroupVersion", Host.cgroupVersion());
        i.put("NEventsListener", 0);
        i.put("KernelVersion", Host.kernelVersion());
        i.put("OperatingSystem", Host.operatingSystem());
        i.put("OSVersion", "");
        i.put("OSType", "linux");
        i.put("Architecture", Host.machine());
        i.put("IndexServerAddress", "https://index.docker.io/v1/");
        i.put("RegistryConfig", Map.of("InsecureRegistryCIDRs", List.of("127.0.0.0/8"),
                "IndexConfigs", Map.of(), "Mirrors", List.of()));
        i.put("NCPU", Runtime.getRuntime().availableProcessors());
        i.put("MemTotal", Host.memTotal());
        i.put("DockerRootDir", engine.config().root().toString());
        i.put("Name", Host.hostname());
        i.put("Labels", List.of());
        i.put("ExperimentalBuild", false);
        i.put("ServerVersion", DockerApi.DOCKER_VERSION);
        i.put("Runtimes", Map.of("vessel", Map.of("path", "vessel-runtime")));
        i.put("DefaultRuntime", "vessel");
        i.put("Swarm", Map.of("NodeID", "", "NodeAddr", "", "LocalNodeState", "inactive", "ControlAvailable", false,
                "Error", "", "RemoteManagers", List.of()));
        i.put("LiveRestoreEnabled", false);
        i.put("Isolation", "");
        i.put("InitBinary", "");
        i.put("ContainerdCommit", Map.of("ID", ""));
        i.put("RuncCommit", Map.of("ID", ""));
        i.put("InitCommit", Map.of("ID", ""));
        i.put("SecurityOptions", List.of("name=seccomp,profile=builtin"));
        i.put("Warnings", List.of());
        ex.json(Status.OK, i);
    }

    /** A stable ID for this daemon's root, made once ({@code /info}'s ID). */
    private String daemonId() throws IOException {
        Path f = engine.config().root().resolve("daemon-id");
        if (Files.isRegularFile(f)) {
            String id = Files.readString(f).trim();
            if (!id.isEmpty()) {
                return id;
            }
        }
        Path tmp = Files.createTempFile(engine.config().root(), ".daemon-id", ".tmp");
        Files.writeString(tmp, UUID.randomUUID() + "\n");
        Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE);
        return Files.readString(f).trim();
    }

    private static boolean readFlag(String file) {
        try {
            return Files.readString(Path.of(file)).trim().equals("1");
        } catch (IOException e) {
            return false;
        }
    }

    private static int countFds() {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        } catch (IOException e) {
            return 0;
        }
    }

    // ---- events ----

    private void events(HttpRequest req, HttpExchange ex) throws IOException, InterruptedException {
        Filters f = Filters.parse(req.query("filters"), EVENT_FILTERS);
        long now = nanosNow();
        long since = req.query("since") == null ? -1 : timestamp("since", req.query("since"));
        long until = req.query("until") == null ? Long.MAX_VALUE : timestamp("until", req.query("until"));
        EventLog log = engine.events();
        try (EventLog.Subscription sub = log.subscribe(since, e -> matches(f, e) && e.timeNano() <= until);
             HttpExchange.JsonLines out = ex.jsonLines(Status.OK)) {
            ex.watchDisconnect(Thread.currentThread());
            while (true) {
                if (until != Long.MAX_VALUE && nanosNow() > until && !sub.pending()) {
                    return;
                }
                if (until <= now && !sub.pending()) {
                    return; // a window wholly in the past: the replay is all
                }
                Event e = sub.next(EVENT_POLL_MILLIS);
                if (e != null) {
                    out.send(toJson(e));
                } else if (sub.overflowed()) {
                    return;
                }
            }
        }
    }

    private static long nanosNow() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    /** Docker's event times: Unix seconds with an optional fraction, or an RFC 3339 time. */
    private static long timestamp(String name, String v) {
        try {
            if (v.matches("\\d+(\\.\\d{1,9})?")) {
                return new BigDecimal(v).movePointRight(9).longValueExact();
            }
            Instant t = Instant.parse(v);
            return t.getEpochSecond() * 1_000_000_000L + t.getNano();
        } catch (RuntimeException e) {
            throw ApiException.badRequest("query parameter " + name + " must be a Unix timestamp or an RFC 3339 time, not \"" + v + "\"");
        }
    }

    /**
     * The event filter as dockerd applies it: exact, except that naming one of the actions that
     * carry a suffix ({@code health_status: healthy}) makes every name a prefix.
     */
    static boolean eventMatches(List<String> wanted, String action) {
        boolean prefixes = wanted.stream().anyMatch(PREFIX_EVENTS::contains);
        return prefixes ? wanted.stream().anyMatch(action::startsWith) : wanted.contains(action);
    }

    static boolean matches(Filters f, Event e) {
        if (f.has("type") && !f.get("type").contains(e.type())) {
            return false;
        }
        if (f.has("event") && !eventMatches(f.get("event"), e.action())) {
            return false;
        }
        if (f.has("scope") && !f.get("scope").contains("local")) {
            return false;
        }
        for (String kind : List.of(Event.IMAGE, Event.VOLUME, Event.CONTAINER)) {
            if (f.has(kind)) {
                boolean hit = e.type().equals(kind) && (f.get(kind).contains(e.actorId())
                        || f.get(kind).contains(e.attributes().getOrDefault("name", "\0")));
                if (kind.equals(Event.IMAGE) && e.type().equals(Event.CONTAINER)) {
                    hit = f.get(kind).contains(e.attributes().getOrDefault("image", "\0"));
                }
                if (!hit) {
                    return false;
                }
            }
        }
        return f.labelsMatch("label", e.attributes());
    }

    static Map<String, Object> toJson(Event e) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (e.type().equals(Event.IMAGE) || e.type().equals(Event.CONTAINER)) {
            m.put("status", e.action()); // the pre-1.22 fields, still sent by dockerd
            m.put("id", e.actorId());
            if (e.attributes().containsKey("image")) {
                m.put("from", e.attributes().get("image"));
            }
        }
        m.put("Type", e.type());
        m.put("Action", e.action());
        m.put("Actor", Map.of("ID", e.actorId(), "Attributes", e.attributes()));
        m.put("scope", "local");
        m.put("time", e.timeNano() / 1_000_000_000L);
        m.put("timeNano", e.timeNano());
        return m;
    }

    // ---- system df ----

    private void df(HttpRequest req, HttpExchange ex) throws IOException {
        List<String> types = req.queryAll("type");
        for (String t : types) {
            if (!DF_TYPES.contains(t)) {
                throw ApiException.badRequest("unknown object type \"" + t + "\"; known: " + String.join(", ", DF_TYPES));
            }
        }
        boolean all = types.isEmpty();
        Map<String, Object> out = new LinkedHashMap<>();
        if (all || types.contains("image")) {
            ImageStore store = engine.images().store();
            Set<io.vessel.image.Digest> inUse = engine.containers().imagesInUse();
            long layersSize = 0;
            Set<io.vessel.image.Digest> seen = new HashSet<>();
            for (ImageStore.Image i : store.images()) {
                for (Descriptor d : i.manifest().layers()) {
                    if (seen.add(d.digest())) {
                        layersSize += d.size();
                    }
                }
            }
            List<Map<String, Object>> images = new ArrayList<>();
            for (Images.Summary s : engine.images().list(false)) {
                Map<String, Object> m = ImageRoutes.summaryJson(s, store.resolve(s.id().toString()));
                m.put("Containers", inUse.contains(s.id()) ? 1 : 0);
                images.add(m);
            }
            out.put("LayersSize", layersSize);
            out.put("Images", images);
        }
        if (all || types.contains("container")) {
            List<Map<String, Object>> cs = new ArrayList<>();
            for (Containers.Info c : engine.containers().list()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("Id", c.id());
                m.put("Names", List.of("/" + c.name()));
                m.put("Image", c.imageName());
                m.put("ImageID", c.image().toString());
                m.put("Command", String.join(" ", c.command()));
                m.put("Created", c.created().getEpochSecond());
                m.put("State", c.status());
                m.put("Status", c.status());
                m.put("SizeRw", 0);
                m.put("SizeRootFs", 0);
                m.put("Labels", Map.of());
                m.put("Mounts", List.of());
                cs.add(m);
            }
            out.put("Containers", cs);
        }
        if (all || types.contains("volume")) {
            VolumeStore vs = engine.volumes();
            List<Map<String, Object>> vols = new ArrayList<>();
            for (Volume v : vs.list(VolumeStore.Filter.ALL)) {
                Map<String, Object> m = VolumeRoutes.toJson(v);
                m.put("UsageData", Map.of("Size", vs.dataSize(v), "RefCount", v.users().size()));
                vols.add(m);
            }
            out.put("Volumes", vols);
        }
        if (all || types.contains("build-cache")) {
            out.put("BuildCache", List.of());
        }
        ex.json(Status.OK, out);
    }
}
