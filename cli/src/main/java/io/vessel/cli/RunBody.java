package io.vessel.cli;

import io.vessel.engine.container.Sizes;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code vessel run}/{@code create} flags as the body of {@code POST /containers/create}: a
 * Config with its HostConfig, in the docker CLI's field names, so the daemon reads the same
 * document from either CLI.
 */
final class RunBody {
    private static final double NANOS_PER_CPU = 1e9;

    private RunBody() {
    }

    /** The flags {@code run} and {@code create} share. */
    static Flags flags(String command) {
        return new Flags(command, true)
                .value("name", (char) 0, "name the container")
                .bool("rm", (char) 0, "remove the container when it exits")
                .bool("detach", 'd', "run in the background and print the container ID")
                .bool("interactive", 'i', "keep standard input open")
                .bool("tty", 't', "allocate a pseudo-terminal")
                .list("env", 'e', "set environment variables")
                .list("label", 'l', "set metadata (KEY=VALUE)")
                .value("workdir", 'w', "working directory inside the container")
                .value("user", 'u', "user name or UID[:GID]")
                .list("group-add", (char) 0, "additional groups")
                .value("hostname", 'h', "container host name")
                .value("entrypoint", (char) 0, "override the image's ENTRYPOINT")
                .bool("read-only", (char) 0, "mount the root file system read-only")
                .value("memory", 'm', "memory limit (e.g. 64m)")
                .value("cpus", (char) 0, "number of CPUs (e.g. 0.5)")
                .value("pids-limit", (char) 0, "process limit")
                .list("cap-add", (char) 0, "add Linux capabilities")
                .list("cap-drop", (char) 0, "drop Linux capabilities")
                .bool("privileged", (char) 0, "all capabilities and devices")
                .list("volume", 'v', "bind mount a volume (NAME:/path, /host:/path, /path)[:ro|rw|nocopy|...]")
                .list("mount", (char) 0, "attach a mount (type=bind|volume|tmpfs,source=,target=,...)")
                .list("tmpfs", (char) 0, "mount a tmpfs (/path[:options])")
                .value("network", (char) 0, "bridge, none, host, container:NAME or a network's name")
                .list("publish", 'p', "publish a port (HOST_IP:HOST_PORT:CONTAINER_PORT[/udp])")
                .bool("publish-all", 'P', "publish the image's EXPOSEd ports on free host ports")
                .list("network-alias", (char) 0, "more names on a user-defined network")
                .value("ip", (char) 0, "a static IPv4 address on the network")
                .list("dns", (char) 0, "name servers for the container")
                .value("restart", (char) 0, "no, always, unless-stopped, on-failure[:N]")
                .bool("init", (char) 0, "run an init as process 1 that reaps zombies and forwards signals")
                .value("stop-signal", (char) 0, "the signal that stops the container")
                .value("stop-timeout", (char) 0, "seconds to wait after the stop signal before SIGKILL")
                .list("device-read-bps", (char) 0, "limit reads from a device (DEVICE:RATE)")
                .list("device-write-bps", (char) 0, "limit writes to a device (DEVICE:RATE)")
                .value("pull", (char) 0, "missing (default), always or never")
                .bool("quiet", 'q', "do not print pull progress");
    }

    static Map<String, Object> of(Flags f) throws UsageError {
        String image = f.arg(0, "at least 1 argument: the image");
        List<String> positional = f.positional();
        Map<String, Object> c = new LinkedHashMap<>();
        Map<String, Object> h = new LinkedHashMap<>();
        try {
            c.put("Image", image);
            c.put("Cmd", new ArrayList<>(positional.subList(1, positional.size())));
            if (f.has("entrypoint")) {
                c.put("Entrypoint", List.of(f.value("entrypoint")));
            }
            List<String> env = new ArrayList<>();
            for (String e : f.list("env")) {
                if (e.contains("=")) {
                    env.add(e);
                } else if (System.getenv(e) != null) {
                    env.add(e + "=" + System.getenv(e)); // docker takes NAME alone from the client's environment
                }
            }
            c.put("Env", env);
            c.put("Labels", pairs(f.list("label"), "--label"));
            c.put("WorkingDir", f.value("workdir", ""));
            c.put("User", f.value("user", ""));
            c.put("Hostname", f.value("hostname", ""));
            boolean interactive = f.bool("interactive");
            boolean detach = f.bool("detach");
            c.put("Tty", f.bool("tty"));
            c.put("OpenStdin", interactive);
            c.put("StdinOnce", interactive && !detach);
            c.put("AttachStdin", interactive && !detach);
            c.put("AttachStdout", !detach);
            c.put("AttachStderr", !detach);
            if (f.has("stop-signal")) {
                c.put("StopSignal", f.value("stop-signal"));
            }
            if (f.has("stop-timeout")) {
                c.put("StopTimeout", integer("--stop-timeout", f.value("stop-timeout")));
            }
            h.put("Binds", f.list("volume"));
            List<Map<String, Object>> mounts = new ArrayList<>();
            for (String m : f.list("mount")) {
                mounts.add(mount(m));
            }
            h.put("Mounts", mounts);
            Map<String, String> tmpfs = new LinkedHashMap<>();
            for (String t : f.list("tmpfs")) {
                int colon = t.indexOf(':');
                tmpfs.put(colon < 0 ? t : t.substring(0, colon), colon < 0 ? "" : t.substring(colon + 1));
            }
            h.put("Tmpfs", tmpfs);
            h.put("ReadonlyRootfs", f.bool("read-only"));
            if (f.has("memory")) {
                h.put("Memory", Sizes.parse("--memory", f.value("memory")));
            }
            if (f.has("cpus")) {
                try {
                    h.put("NanoCpus", Math.round(Double.parseDouble(f.value("cpus")) * NANOS_PER_CPU));
                } catch (NumberFormatException e) {
                    throw new UsageError("invalid --cpus \"" + f.value("cpus") + "\": a number such as 0.5");
                }
            }
            if (f.has("pids-limit")) {
                h.put("PidsLimit", integer("--pids-limit", f.value("pids-limit")));
            }
            h.put("CapAdd", f.list("cap-add"));
            h.put("CapDrop", f.list("cap-drop"));
            h.put("GroupAdd", f.list("group-add"));
            h.put("Privileged", f.bool("privileged"));
            if (f.has("network")) {
                h.put("NetworkMode", f.value("network"));
            }
            h.put("AutoRemove", f.bool("rm"));
            h.put("Init", f.bool("init"));
            h.put("RestartPolicy", restart(f.value("restart", "no")));
            h.put("BlkioDeviceReadBps", throttles("--device-read-bps", f.list("device-read-bps")));
            h.put("BlkioDeviceWriteBps", throttles("--device-write-bps", f.list("device-write-bps")));
            Map<String, Object> exposed = new LinkedHashMap<>();
            Map<String, List<Map<String, String>>> bindings = new LinkedHashMap<>();
            for (String p : f.list("publish")) {
                publish(p, exposed, bindings);
            }
            c.put("ExposedPorts", exposed);
            h.put("PortBindings", bindings);
            h.put("PublishAllPorts", f.bool("publish-all"));
            h.put("Dns", f.list("dns"));
            if (!f.list("network-alias").isEmpty() || f.has("ip")) {
                Map<String, Object> endpoint = new LinkedHashMap<>();
                endpoint.put("Aliases", f.list("network-alias"));
                if (f.has("ip")) {
                    endpoint.put("IPAMConfig", Map.of("IPv4Address", f.value("ip")));
                }
                String network = f.value("network", "default");
                c.put("NetworkingConfig", Map.of("EndpointsConfig", Map.of(network, endpoint)));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        c.put("HostConfig", h);
        return c;
    }

    private static long integer(String flag, String v) throws UsageError {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageError("invalid " + flag + " \"" + v + "\": an integer");
        }
    }

    private static Map<String, String> pairs(List<String> items, String flag) throws UsageError {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : items) {
            int eq = s.indexOf('=');
            if (eq == 0) {
                throw new UsageError("invalid " + flag + " \"" + s + "\": KEY=VALUE");
            }
            m.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? "" : s.substring(eq + 1));
        }
        return m;
    }

    /** {@code --restart no|always|unless-stopped|on-failure[:N]}. */
    static Map<String, Object> restart(String v) throws UsageError {
        int colon = v.indexOf(':');
        String name = colon < 0 ? v : v.substring(0, colon);
        if (!List.of("no", "always", "unless-stopped", "on-failure").contains(name)) {
            throw new UsageError("invalid --restart \"" + v + "\": no, always, unless-stopped or on-failure[:N]");
        }
        long max = 0;
        if (colon >= 0) {
            if (!name.equals("on-failure")) {
                throw new UsageError("invalid --restart \"" + v + "\": only on-failure takes a retry count");
            }
            max = integer("--restart", v.substring(colon + 1));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Name", name.equals("no") ? "" : name);
        m.put("MaximumRetryCount", max);
        return m;
    }

    private static List<Map<String, Object>> throttles(String flag, List<String> given) throws UsageError {
        List<Map<String, Object>> l = new ArrayList<>();
        for (String t : given) {
            int colon = t.lastIndexOf(':');
            if (colon <= 0) {
                throw new UsageError("invalid " + flag + " \"" + t + "\": DEVICE:RATE, e.g. /dev/sda:1mb");
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Path", t.substring(0, colon));
            m.put("Rate", Sizes.parse(flag, t.substring(colon + 1)));
            l.add(m);
        }
        return l;
    }

    /** {@code [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]}, as docker's -p. */
    static void publish(String p, Map<String, Object> exposed, Map<String, List<Map<String, String>>> bindings) throws UsageError {
        String spec = p;
        String proto = "tcp";
        int slash = spec.lastIndexOf('/');
        if (slash >= 0) {
            proto = spec.substring(slash + 1);
            spec = spec.substring(0, slash);
        }
        if (!proto.equals("tcp") && !proto.equals("udp") && !proto.equals("sctp")) {
            throw new UsageError("invalid -p \"" + p + "\": the protocol is tcp, udp or sctp");
        }
        String hostIp = "";
        String hostPort = "";
        String containerPort;
        int last = spec.lastIndexOf(':');
        if (last < 0) {
            containerPort = spec;
        } else {
            containerPort = spec.substring(last + 1);
            String rest = spec.substring(0, last);
            int colon = rest.lastIndexOf(':');
            if (colon < 0) {
                hostPort = rest;
            } else {
                hostIp = rest.substring(0, colon);
                hostPort = rest.substring(colon + 1);
                if (hostIp.startsWith("[") && hostIp.endsWith("]")) {
                    hostIp = hostIp.substring(1, hostIp.length() - 1);
                }
            }
        }
        int[] container = portRange(p, "container", containerPort);
        int[] host = hostPort.isEmpty() ? null : portRange(p, "host", hostPort);
        int count = container[1] - container[0] + 1;
        if (count > 1 && host != null && host[1] - host[0] + 1 != count) {
            throw new UsageError("invalid -p \"" + p + "\": the host and container port ranges must hold as many ports");
        }
        for (int i = 0; i < count; i++) {
            String key = (container[0] + i) + "/" + proto;
            exposed.put(key, Map.of());
            Map<String, String> b = new LinkedHashMap<>();
            b.put("HostIp", hostIp);
            // pairs of ranges go port by port; a host range for one port is the daemon's to choose in
            b.put("HostPort", host == null ? "" : count > 1 ? Integer.toString(host[0] + i) : hostPort);
            bindings.computeIfAbsent(key, k -> new ArrayList<>()).add(b);
        }
    }

    /** {@code PORT} or {@code FIRST-LAST} of a -p, as {first, last}. */
    private static int[] portRange(String p, String which, String ports) throws UsageError {
        if (!ports.matches("[0-9]{1,5}(-[0-9]{1,5})?")) {
            throw new UsageError("invalid -p \"" + p + "\": the " + which + " port must be a number or a range FIRST-LAST");
        }
        int dash = ports.indexOf('-');
        int first = Integer.parseInt(dash < 0 ? ports : ports.substring(0, dash));
        int last = dash < 0 ? first : Integer.parseInt(ports.substring(dash + 1));
        if (first < 1 || last > 65535 || last < first) {
            throw new UsageError("invalid -p \"" + p + "\": " + ports + " is not a " + which + " port or range in 1-65535");
        }
        return new int[] {first, last};
    }

    /** {@code --mount type=bind,source=/a,target=/b,readonly}, into the API's Mount. */
    static Map<String, Object> mount(String spec) throws UsageError {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> bind = new LinkedHashMap<>();
        Map<String, Object> volume = new LinkedHashMap<>();
        Map<String, Object> tmpfs = new LinkedHashMap<>();
        String type = "volume";
        for (String part : spec.split(",")) {
            int eq = part.indexOf('=');
            String k = (eq < 0 ? part : part.substring(0, eq)).trim().toLowerCase(java.util.Locale.ROOT);
            String v = eq < 0 ? "" : part.substring(eq + 1).trim();
            switch (k) {
                case "type" -> type = v;
                case "source", "src" -> m.put("Source", v);
                case "target", "destination", "dst" -> m.put("Target", v);
                case "readonly", "ro" -> m.put("ReadOnly", v.isEmpty() || v.equals("true") || v.equals("1"));
                case "bind-propagation" -> bind.put("Propagation", v);
                case "bind-nonrecursive" -> bind.put("NonRecursive", v.isEmpty() || v.equals("true"));
                case "volume-nocopy" -> volume.put("NoCopy", v.isEmpty() || v.equals("true"));
                case "tmpfs-size" -> tmpfs.put("SizeBytes", Sizes.parse("tmpfs-size", v));
                case "tmpfs-mode" -> {
                    try {
                        tmpfs.put("Mode", Integer.parseInt(v, 8));
                    } catch (NumberFormatException e) {
                        throw new UsageError("invalid --mount tmpfs-mode \"" + v + "\": octal, e.g. 1777");
                    }
                }
                default -> throw new UsageError("invalid --mount field \"" + k + "\" in \"" + spec + "\"");
            }
        }
        m.put("Type", type);
        if (!bind.isEmpty()) {
            m.put("BindOptions", bind);
        }
        if (!volume.isEmpty()) {
            m.put("VolumeOptions", volume);
        }
        if (!tmpfs.isEmpty()) {
            m.put("TmpfsOptions", tmpfs);
        }
        return m;
    }
}
