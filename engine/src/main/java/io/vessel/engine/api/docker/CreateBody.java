package io.vessel.engine.api.docker;

import io.vessel.engine.Containers;
import io.vessel.engine.container.Monitor;
import io.vessel.engine.container.RunOptions;
import io.vessel.engine.container.Sizes;
import io.vessel.image.oci.ImageConfig;
import io.vessel.json.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The body of {@code POST /containers/create} as the docker CLI sends it (a Config with a
 * HostConfig and a NetworkingConfig inside), read into what the engine takes: {@link RunOptions}
 * and a {@link Containers.Lifecycle}, plus the Config and HostConfig to keep for inspect. Fields
 * dockerd ignores are ignored here too (its decoder does not refuse unknown fields); fields of a
 * wrong type or value are a 400 naming them.
 */
final class CreateBody {
    /**
     * The init process of {@code --init}: Docker binds its docker-init (tini) at this path in the
     * container and runs it as process 1, the container's command under it.
     */
    static final String INIT_TARGET = "/sbin/docker-init";
    /** Which host binary serves as docker-init: podman's catatonit, a static minimal init. */
    static final Path INIT_BINARY = Path.of(System.getProperty("vessel.init", "/usr/bin/catatonit"));
    /** Log drivers whose output docker logs can read, all served by the monitor's json-file log. */
    private static final List<String> LOG_DRIVERS = List.of("", "json-file");
    private static final double NANO = 1e9;

    final String image;
    final RunOptions options;
    final Containers.Lifecycle lifecycle;
    final Map<String, Object> apiConfig;
    final List<String> warnings;

    private CreateBody(String image, RunOptions options, Containers.Lifecycle lifecycle, Map<String, Object> apiConfig,
                       List<String> warnings) {
        this.image = image;
        this.options = options;
        this.lifecycle = lifecycle;
        this.apiConfig = apiConfig;
        this.warnings = warnings;
    }

    /** The image named by the body ({@code Image}), required. */
    static String image(JsonNode body) {
        String image = str(body.get("Image"), "");
        if (image.isBlank()) {
            throw new IllegalArgumentException("create: Config.Image is required");
        }
        return image;
    }

    /** Reads the body against the image's configuration (for the effective command of --init). */
    static CreateBody read(JsonNode body, ImageConfig.Config imageConfig) {
        String image = image(body);
        JsonNode host = body.get("HostConfig");
        if (has(host) && !host.isObject()) {
            throw host.fail("must be an object");
        }
        List<String> warnings = new ArrayList<>();
        RunOptions.Builder b = RunOptions.builder();

        List<String> entrypoint = has(body.get("Entrypoint")) ? strings(body.get("Entrypoint")) : null;
        if (entrypoint != null && entrypoint.size() == 1 && entrypoint.getFirst().isEmpty()) {
            entrypoint = List.of(); // --entrypoint "": the image's is cleared
        } else if (entrypoint != null && entrypoint.isEmpty()) {
            entrypoint = null; // an empty list means "not given", as dockerd reads it
        }
        List<String> cmd = has(body.get("Cmd")) ? strings(body.get("Cmd")) : List.of();
        // The effective command, as dockerd records it in Config: a given entrypoint drops the image's CMD.
        List<String> effEntrypoint = entrypoint != null ? entrypoint : imageConfig.entrypoint();
        List<String> effCmd = !cmd.isEmpty() ? cmd : entrypoint != null ? List.of() : imageConfig.cmd();
        boolean init = bool(host.get("Init"));
        if (init) {
            if (!Files.isExecutable(INIT_BINARY)) {
                throw new IllegalArgumentException("--init needs an init binary at " + INIT_BINARY
                        + " (catatonit), which is missing");
            }
            List<String> ep = new ArrayList<>(List.of(INIT_TARGET, "--"));
            ep.addAll(effEntrypoint);
            b.entrypoint(ep).cmd(effCmd);
            b.mount(new io.vessel.engine.container.MountSpec.Bind(INIT_BINARY, INIT_TARGET, true, "rprivate", false,
                    false));
        } else {
            b.entrypoint(entrypoint).cmd(cmd);
        }
        if (effEntrypoint.isEmpty() && effCmd.isEmpty()) {
            throw new IllegalArgumentException("no command specified");
        }
        for (String e : has(body.get("Env")) ? strings(body.get("Env")) : List.<String>of()) {
            if (e.indexOf('=') <= 0) {
                // dockerd takes NAME alone from the client's environment; the CLI resolves it first
                throw new IllegalArgumentException("invalid environment variable \"" + e + "\": NAME=VALUE expected");
            }
            b.env(e);
        }
        String workdir = str(body.get("WorkingDir"), "");
        if (!workdir.isEmpty()) {
            if (!workdir.startsWith("/")) {
                throw new IllegalArgumentException("the working directory '" + workdir + "' is invalid, it needs to be "
                        + "an absolute path");
            }
            b.workdir(workdir);
        }
        String user = str(body.get("User"), "");
        if (!user.isEmpty()) {
            b.user(user);
        }
        String hostname = str(body.get("Hostname"), "");
        if (!hostname.isEmpty()) {
            if (!hostname.matches("[A-Za-z0-9]([A-Za-z0-9.-]{0,253})?")) {
                throw new IllegalArgumentException("invalid hostname \"" + hostname + "\"");
            }
            b.hostname(hostname);
        }
        b.tty(bool(body.get("Tty")));
        if (has(host.get("ConsoleSize"))) {
            List<JsonNode> size = host.get("ConsoleSize").elements();
            if (size.size() != 2) {
                throw new IllegalArgumentException("HostConfig.ConsoleSize must be [height, width], not " + size.size()
                        + " numbers");
            }
            b.consoleSize(new RunOptions.ConsoleSize(size.get(0).intValue(), size.get(1).intValue()));
        }

        // HostConfig
        for (String v : has(host.get("Binds")) ? strings(host.get("Binds")) : List.<String>of()) {
            b.volume(v);
        }
        for (String anonymous : has(body.get("Volumes")) ? body.get("Volumes").keys() : List.<String>of()) {
            b.volume(anonymous);
        }
        for (JsonNode m : has(host.get("Mounts")) ? host.get("Mounts").elements() : List.<JsonNode>of()) {
            b.mountFlag(mountFlag(m));
        }
        if (has(host.get("Tmpfs"))) {
            Map<String, String> tmpfs = host.get("Tmpfs").stringMap();
            for (Map.Entry<String, String> t : tmpfs.entrySet()) {
                b.tmpfs(t.getValue().isEmpty() ? t.getKey() : t.getKey() + ":" + t.getValue());
            }
        }
        b.readOnly(bool(host.get("ReadonlyRootfs")));
        b.privileged(bool(host.get("Privileged")));
        for (String c : has(host.get("CapAdd")) ? strings(host.get("CapAdd")) : List.<String>of()) {
            b.capAdd(c);
        }
        for (String c : has(host.get("CapDrop")) ? strings(host.get("CapDrop")) : List.<String>of()) {
            b.capDrop(c);
        }
        for (String g : has(host.get("GroupAdd")) ? strings(host.get("GroupAdd")) : List.<String>of()) {
            b.groupAdd(g);
        }
        long memory = lng(host.get("Memory"));
        if (memory < 0) {
            throw new IllegalArgumentException("HostConfig.Memory cannot be negative: " + memory);
        }
        b.memory(memory);
        long nanoCpus = lng(host.get("NanoCpus"));
        if (nanoCpus < 0) {
            throw new IllegalArgumentException("HostConfig.NanoCpus cannot be negative: " + nanoCpus);
        }
        b.cpus(nanoCpus / NANO);
        long pids = lng(host.get("PidsLimit"));
        if (pids > 0) {
            b.pidsLimit(pids);
        }
        for (JsonNode t : has(host.get("BlkioDeviceReadBps")) ? host.get("BlkioDeviceReadBps").elements() : List.<JsonNode>of()) {
            b.deviceReadBps(throttle(t));
        }
        for (JsonNode t : has(host.get("BlkioDeviceWriteBps")) ? host.get("BlkioDeviceWriteBps").elements() : List.<JsonNode>of()) {
            b.deviceWriteBps(throttle(t));
        }
        for (JsonNode t : has(host.get("BlkioDeviceReadIOps")) ? host.get("BlkioDeviceReadIOps").elements() : List.<JsonNode>of()) {
            b.deviceReadIops(throttle(t));
        }
        for (JsonNode t : has(host.get("BlkioDeviceWriteIOps")) ? host.get("BlkioDeviceWriteIOps").elements() : List.<JsonNode>of()) {
            b.deviceWriteIops(throttle(t));
        }
        long shares = lng(host.get("CpuShares"));
        if (shares < 0) {
            throw new IllegalArgumentException("HostConfig.CpuShares cannot be negative: " + shares);
        }
        b.cpuShares(shares);
        for (String unapplied : List.of("BlkioWeight", "CpuQuota", "CpusetCpus", "MemoryReservation", "MemorySwap")) {
            JsonNode n = host.get(unapplied);
            if (has(n) && !(n.value() instanceof Number num && num.longValue() == 0)
                    && !(n.value() instanceof List<?> l && l.isEmpty()) && !"".equals(n.value())) {
                warnings.add("Vessel does not apply HostConfig." + unapplied + " yet; it was ignored");
            }
        }
        b.network(network(str(host.get("NetworkMode"), "")));
        NetworkCreateOptions.read(body, host, str(host.get("NetworkMode"), ""), b);

        Containers.RestartPolicy restart = Containers.RestartPolicy.NO;
        JsonNode rp = host.get("RestartPolicy");
        if (has(rp)) {
            restart = new Containers.RestartPolicy(str(rp.get("Name"), ""), (int) lng(rp.get("MaximumRetryCount")));
        }
        Monitor.LogConfig log = Monitor.LogConfig.DEFAULT;
        JsonNode lc = host.get("LogConfig");
        if (has(lc)) {
            String type = str(lc.get("Type"), "");
            if (!LOG_DRIVERS.contains(type)) {
                throw new IllegalArgumentException("logging driver \"" + type + "\" is not available; Vessel keeps "
                        + "json-file logs");
            }
            Map<String, String> opts = has(lc.get("Config")) ? lc.get("Config").stringMap() : Map.of();
            for (String k : opts.keySet()) {
                if (!k.equals("max-size") && !k.equals("max-file")) {
                    throw new IllegalArgumentException("unknown log opt '" + k + "' for json-file log driver");
                }
            }
            long maxSize = opts.containsKey("max-size") ? Sizes.parse("log-opt max-size", opts.get("max-size")) : -1;
            int maxFile;
            try {
                maxFile = opts.containsKey("max-file") ? Integer.parseInt(opts.get("max-file")) : 1;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("log-opt max-file must be a number, not \"" + opts.get("max-file") + "\"");
            }
            log = new Monitor.LogConfig(maxSize, maxFile);
        }
        String stopSignal = str(body.get("StopSignal"), "");
        Integer stopTimeout = has(body.get("StopTimeout")) ? (int) lng(body.get("StopTimeout")) : null;
        Containers.Lifecycle life = new Containers.Lifecycle(restart, bool(host.get("AutoRemove")),
                bool(body.get("OpenStdin")), bool(body.get("StdinOnce")), log,
                stopSignal.isEmpty() ? null : stopSignal, stopTimeout);

        Map<String, Object> config = copyObject(body);
        config.remove("HostConfig");
        Object networking = config.remove("NetworkingConfig");
        config.put("Image", image);
        config.put("Cmd", effCmd);
        config.put("Entrypoint", effEntrypoint.isEmpty() ? null : effEntrypoint);
        Map<String, String> labels = new LinkedHashMap<>(imageConfig.labels());
        if (has(body.get("Labels"))) {
            labels.putAll(body.get("Labels").stringMap());
        }
        config.put("Labels", labels);
        if (user.isEmpty() && imageConfig.user() != null) {
            config.put("User", imageConfig.user());
        }
        Map<String, Object> api = new LinkedHashMap<>();
        api.put("Config", config);
        api.put("HostConfig", has(host) ? copyObject(host) : new LinkedHashMap<>());
        api.put("NetworkingConfig", networking);
        return new CreateBody(image, b.build(), life, api, warnings);
    }

    /**
     * HostConfig.NetworkMode for {@link RunOptions#network()}: null for Docker's default (the
     * {@code bridge} network); others go through as given, for the network code to accept or refuse.
     */
    static String network(String mode) {
        return mode.isEmpty() || mode.equals("default") ? null : mode;
    }

    /** One HostConfig.Mounts entry, as the {@code --mount} syntax the engine parses. */
    private static String mountFlag(JsonNode m) {
        List<String> f = new ArrayList<>();
        String type = str(m.get("Type"), "");
        if (type.isEmpty()) {
            throw m.get("Type").fail("is required");
        }
        f.add("type=" + type);
        String source = str(m.get("Source"), "");
        if (!source.isEmpty()) {
            f.add("source=" + source);
        }
        f.add("target=" + str(m.get("Target"), ""));
        if (bool(m.get("ReadOnly"))) {
            f.add("readonly");
        }
        JsonNode bo = m.get("BindOptions");
        if (has(bo)) {
            String prop = str(bo.get("Propagation"), "");
            if (!prop.isEmpty()) {
                f.add("bind-propagation=" + prop);
            }
            if (bool(bo.get("NonRecursive"))) {
                f.add("bind-nonrecursive=true");
            }
        }
        JsonNode vo = m.get("VolumeOptions");
        if (has(vo)) {
            if (bool(vo.get("NoCopy"))) {
                f.add("volume-nocopy=true");
            }
            if (has(vo.get("Labels"))) {
                vo.get("Labels").stringMap().forEach((k, v) -> f.add("volume-label=" + k + "=" + v));
            }
            JsonNode dc = vo.get("DriverConfig");
            if (has(dc)) {
                String driver = str(dc.get("Name"), "");
                if (!driver.isEmpty()) {
                    f.add("volume-driver=" + driver);
                }
                if (has(dc.get("Options"))) {
                    dc.get("Options").stringMap().forEach((k, v) -> f.add("volume-opt=" + k + "=" + v));
                }
            }
        }
        JsonNode to = m.get("TmpfsOptions");
        if (has(to)) {
            long size = lng(to.get("SizeBytes"));
            if (size > 0) {
                f.add("tmpfs-size=" + size);
            }
            long mode = lng(to.get("Mode"));
            if (mode > 0) {
                f.add("tmpfs-mode=" + Long.toOctalString(mode));
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String field : f) {
            if (!sb.isEmpty()) {
                sb.append(',');
            }
            sb.append('"').append(field.replace("\"", "\"\"")).append('"');
        }
        return sb.toString();
    }

    private static RunOptions.Throttle throttle(JsonNode t) {
        String path = str(t.get("Path"), "");
        long rate = lng(t.get("Rate"));
        if (!path.startsWith("/") || rate < 0) {
            throw t.fail("must have an absolute Path and a Rate of 0 or more");
        }
        return new RunOptions.Throttle(Path.of(path), rate);
    }

    // ---------------------------------------------------------------- null-tolerant readers (Go's zero values)

    /** Present and not JSON null (the CLI sends null for what it leaves unset). */
    static boolean has(JsonNode n) {
        return n.present() && n.value() != null;
    }

    static String str(JsonNode n, String dflt) {
        return has(n) ? n.string() : dflt;
    }

    static boolean bool(JsonNode n) {
        return has(n) && n.bool(false);
    }

    static long lng(JsonNode n) {
        return has(n) ? n.longValue() : 0;
    }

    /** A string list, or one string (Docker's StrSlice accepts both). */
    static List<String> strings(JsonNode n) {
        if (n.value() instanceof String s) {
            return List.of(s);
        }
        return n.stringList();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> copyObject(JsonNode n) {
        return new LinkedHashMap<>((Map<String, Object>) n.value());
    }
}
