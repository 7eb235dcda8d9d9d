package io.vessel.engine;

import io.vessel.engine.container.NetworkJoin;
import io.vessel.engine.container.RunOptions;
import io.vessel.engine.network.Attachment;
import io.vessel.engine.network.ConnectRequest;
import io.vessel.engine.network.Network;
import io.vessel.engine.network.NetworkException;
import io.vessel.engine.network.NetworkMode;
import io.vessel.engine.network.Networks;
import io.vessel.engine.network.PortMapping;
import io.vessel.image.oci.ImageConfig;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;
import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A container's networking over its life, between {@link Containers} and {@link Networks}: at
 * create it is connected as {@code --network} says and the bundle told how to join; what was
 * asked is kept in the container's {@code network.json}, so a start after a reboot (which empties
 * the pinned namespaces, and {@link Networks#reconcile} then releases the endpoints) connects it
 * again; remove releases everything. Its namespace is pinned from create to remove, so
 * {@code container:NAME} may join it whether or not that container runs.
 */
final class ContainerNetworking {
    /** The file in the container's directory recording its network mode and connections. */
    static final String FILE = "network.json";
    private static final int SHORT_ID = 12;

    /** A connection to a bridge network as asked for (ports with the host ports chosen at connect). */
    record Connection(String networkId, List<String> aliases, String ip, List<PortMapping> ports) {
        Connection {
            aliases = List.copyOf(aliases);
            ports = List.copyOf(ports);
        }
    }

    /**
     * What {@code network.json} holds: the mode as Docker's HostConfig.NetworkMode shows it
     * ({@code default}, {@code none}, {@code host}, {@code container:<id>}, a network name), the
     * host name the hosts files give, and the bridge connections.
     */
    record Plan(String mode, String hostname, List<Connection> connections) {
        Plan {
            connections = List.copyOf(connections);
        }

        NetworkMode parsed() {
            return NetworkMode.parse(mode);
        }
    }

    private final Engine engine;

    ContainerNetworking(Engine engine) {
        this.engine = engine;
    }

    /**
     * Connects a container being created as its options say and returns how its bundle joins;
     * the caller releases ({@link #release}) if anything after fails.
     */
    NetworkJoin create(String id, String name, Path dir, RunOptions o, ImageConfig.Config image,
                       Containers containers) throws IOException {
        NetworkMode mode;
        try {
            mode = NetworkMode.parse(o.network());
        } catch (IllegalArgumentException e) {
            throw new NetworkException(NetworkException.Kind.INVALID, e.getMessage());
        }
        String hostname = o.hostname() != null && !o.hostname().isEmpty() ? o.hostname()
                : id.substring(0, Math.min(SHORT_ID, id.length()));
        switch (mode) {
            case NetworkMode.Host h -> {
                refuse(o, "host", false);
                save(dir, new Plan("host", hostname, List.of()));
                return new NetworkJoin.Host();
            }
            case NetworkMode.None n -> {
                refuse(o, "none", true);
                Path ns = engine.networks().sandbox(id);
                save(dir, new Plan("none", hostname, List.of()));
                return new NetworkJoin.Namespace(ns, null, null, null);
            }
            case NetworkMode.Container c -> {
                refuse(o, "container:" + c.container(), true);
                if (o.hostname() != null && !o.hostname().isEmpty()) {
                    throw new NetworkException(NetworkException.Kind.INVALID,
                            "conflicting options: --hostname and --network container:" + c.container());
                }
                if (!o.dns().isEmpty()) {
                    throw new NetworkException(NetworkException.Kind.INVALID,
                            "conflicting options: --dns and --network container:" + c.container());
                }
                Containers.Info other = containers.find(c.container());
                if (other == null) {
                    throw new NoSuchFileException("No such container: " + c.container());
                }
                if (other.id().equals(id)) {
                    throw new NetworkException(NetworkException.Kind.INVALID, "cannot join own network namespace");
                }
                NetworkJoin join = joinOther(other);
                save(dir, new Plan("container:" + other.id(), hostname, List.of()));
                return join;
            }
            case NetworkMode.Attach a -> {
                Network net = engine.networks().inspect(a.network());
                if (!net.isBridge()) {
                    throw new NetworkException(NetworkException.Kind.INVALID, "network " + net.name()
                            + " cannot be used as --network " + a.network());
                }
                if (!net.resolvesNames() && !o.networkAliases().isEmpty()) {
                    throw new NetworkException(NetworkException.Kind.INVALID,
                            "network-scoped alias is supported only for containers in user defined networks");
                }
                List<PortMapping> ports = new ArrayList<>(o.ports());
                if (o.publishAll()) {
                    ports.addAll(exposed(image, o.ports()));
                }
                Attachment att = engine.networks().connect(new ConnectRequest(net.id(), id, name, hostname,
                        o.networkAliases(), o.ip(), ports));
                String shown = o.network() == null || o.network().isEmpty() ? "default" : o.network();
                save(dir, new Plan(shown, hostname, List.of(new Connection(net.id(), o.networkAliases(),
                        o.ip() == null || o.ip().isEmpty() ? null : o.ip(), att.ports()))));
                return new NetworkJoin.Namespace(att.netnsPath(), att.hostsPath(), att.resolvConfPath(), null);
            }
        }
    }

    /** Options that need a network of the container's own are refused for host, none and container: modes. */
    private static void refuse(RunOptions o, String mode, boolean portsToo) throws NetworkException {
        if (!o.networkAliases().isEmpty()) {
            throw new NetworkException(NetworkException.Kind.INVALID,
                    "network-scoped alias is supported only for containers in user defined networks, not --network " + mode);
        }
        if (o.ip() != null && !o.ip().isEmpty()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "--ip needs a bridge network, not --network " + mode);
        }
        if (portsToo && (!o.ports().isEmpty() || o.publishAll())) {
            throw new NetworkException(NetworkException.Kind.INVALID,
                    "conflicting options: port publishing and --network " + mode);
        }
        // --network host: published ports are discarded, as Docker does (the host's ports are the container's)
    }

    /** -P: each EXPOSEd port not published explicitly, on every address and a free host port. */
    private static List<PortMapping> exposed(ImageConfig.Config image, List<PortMapping> explicit) {
        List<PortMapping> out = new ArrayList<>();
        for (String e : image.exposedPorts()) {
            int slash = e.indexOf('/');
            String proto = slash < 0 ? "tcp" : e.substring(slash + 1);
            int port;
            try {
                port = Integer.parseInt(slash < 0 ? e : e.substring(0, slash));
            } catch (NumberFormatException bad) {
                continue; // a port range or junk in EXPOSE: Docker would publish the range; not supported
            }
            boolean mapped = explicit.stream().anyMatch(p -> p.containerPort() == port && p.protocol().equals(proto));
            if (!mapped && (proto.equals("tcp") || proto.equals("udp"))) {
                out.add(new PortMapping(PortMapping.ANY, PortMapping.ANY_PORT, port, proto));
            }
        }
        return out;
    }

    /** Joining another container's namespace: its hosts and resolv.conf files and its host name. */
    private NetworkJoin joinOther(Containers.Info other) throws IOException {
        Optional<Path> ns = engine.networks().netnsOf(other.id());
        if (ns.isEmpty()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "cannot join the network of container "
                    + other.name() + ": it has no network namespace of its own (it uses the host's or was made"
                    + " before networking); use --network host");
        }
        Path config = engine.config().containersDir().resolve(other.id()).resolve("config.json");
        Spec spec = Spec.parse(Files.readString(config));
        Path hosts = null;
        Path resolv = null;
        for (Spec.Mount m : spec.mounts()) {
            if (m.destination().equals("/etc/hosts")) {
                hosts = Path.of(m.source());
            } else if (m.destination().equals("/etc/resolv.conf")) {
                resolv = Path.of(m.source());
            }
        }
        return new NetworkJoin.Namespace(ns.get(), hosts, resolv, spec.hostname());
    }

    /**
     * Before a start: the container's namespace and connections as recorded (a reboot lost them,
     * or {@link Networks#reconcile} released them); nothing for a container made without a record.
     */
    void ensure(String id, Path dir) throws IOException {
        Plan plan = load(dir);
        if (plan == null) {
            return;
        }
        Networks networks = engine.networks();
        switch (plan.parsed()) {
            case NetworkMode.Host h -> { }
            case NetworkMode.None n -> networks.sandbox(id);
            case NetworkMode.Container c -> {
                if (networks.netnsOf(c.container()).isEmpty()) {
                    throw new NetworkException(NetworkException.Kind.CONFLICT, "cannot join the network of container "
                            + c.container() + ": it was removed (or the host rebooted); recreate this container");
                }
            }
            case NetworkMode.Attach a -> {
                Set<String> connected = new HashSet<>();
                for (Attachment att : networks.attachments(id)) {
                    connected.add(att.networkId());
                }
                String name = name(dir);
                for (Connection c : plan.connections()) {
                    if (!connected.contains(c.networkId())) {
                        networks.connect(new ConnectRequest(c.networkId(), id, name, plan.hostname(), c.aliases(),
                                c.ip(), c.ports()));
                    }
                }
                if (plan.connections().isEmpty()) {
                    networks.sandbox(id); // disconnected from everything: loopback only, as Docker leaves it
                }
            }
        }
    }

    /** Connects a container (created or running) to one more network: {@code docker network connect}. */
    Attachment connect(String id, Path dir, String name, String network, List<String> aliases, String ip)
            throws IOException {
        Plan plan = load(dir);
        Plan p = plan == null ? new Plan("default", id.substring(0, SHORT_ID), List.of()) : plan;
        switch (p.parsed()) {
            case NetworkMode.Host h -> throw new NetworkException(NetworkException.Kind.INVALID,
                    "container cannot be disconnected from host network or connected to host network");
            case NetworkMode.None n -> throw new NetworkException(NetworkException.Kind.INVALID,
                    "container cannot be connected to multiple networks with one of the networks in private (none) mode");
            case NetworkMode.Container c -> throw new NetworkException(NetworkException.Kind.INVALID,
                    "conflicting options: container type network can't be used with multiple networks");
            case NetworkMode.Attach a -> { }
        }
        Network net = engine.networks().inspect(network);
        if (!net.resolvesNames() && aliases != null && !aliases.isEmpty()) {
            throw new NetworkException(NetworkException.Kind.INVALID,
                    "network-scoped alias is supported only for containers in user defined networks");
        }
        Attachment att = engine.networks().connect(new ConnectRequest(net.id(), id, name, p.hostname(), aliases, ip,
                List.of()));
        List<Connection> cs = new ArrayList<>(p.connections());
        cs.add(new Connection(net.id(), aliases == null ? List.of() : aliases, ip == null || ip.isEmpty() ? null : ip,
                List.of()));
        try {
            save(dir, new Plan(p.mode(), p.hostname(), cs));
        } catch (IOException e) {
            engine.networks().disconnect(net.id(), id);
            throw e;
        }
        return att;
    }

    /** {@code docker network disconnect}. */
    void disconnect(String id, Path dir, String network) throws IOException {
        Network net = engine.networks().inspect(network);
        engine.networks().disconnect(net.id(), id);
        Plan p = load(dir);
        if (p != null) {
            List<Connection> cs = new ArrayList<>(p.connections());
            cs.removeIf(c -> c.networkId().equals(net.id()));
            save(dir, new Plan(p.mode(), p.hostname(), cs));
        }
    }

    /** The container renamed: members of its networks resolve the new name (only if it has endpoints). */
    void rename(String id, String name) throws IOException {
        Plan p = load(engine.config().containersDir().resolve(id));
        if (p != null && !p.connections().isEmpty()) {
            engine.networks().rename(id, name);
        }
    }

    /** Everything networking holds for the container (endpoints, ports, namespace, files), gone. */
    void release(String id) throws IOException {
        engine.networks().release(id);
    }

    /** The mode as HostConfig.NetworkMode shows it, or null for a container without a record. */
    String mode(Path dir) throws IOException {
        Plan p = load(dir);
        return p == null ? null : p.mode();
    }

    /**
     * Releases what networking holds for containers that no longer exist (a remove interrupted by
     * a crash): endpoints and pinned namespaces whose container ID is not in {@code known}.
     * Returns the IDs released.
     */
    List<String> releaseOrphans(Set<String> known) throws IOException {
        Networks networks = engine.networks();
        Set<String> seen = new java.util.LinkedHashSet<>();
        for (Network n : networks.list()) {
            n.endpoints().forEach(e -> seen.add(e.containerId()));
        }
        Path netns = networks.config().netnsDir();
        if (Files.isDirectory(netns)) {
            try (Stream<Path> s = Files.list(netns)) {
                s.forEach(p -> seen.add(p.getFileName().toString()));
            }
        }
        List<String> released = new ArrayList<>();
        for (String id : seen) {
            if (!known.contains(id)) {
                networks.release(id);
                released.add(id);
            }
        }
        return released;
    }

    private static String name(Path dir) throws IOException {
        JsonNode n = JsonNode.parse("container.json", Files.readString(dir.resolve("container.json")));
        return n.get("Name").string();
    }

    // ---- network.json

    static Plan load(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (!Files.exists(f)) {
            return null;
        }
        JsonNode n = JsonNode.parse(f.toString(), Files.readString(f));
        return new Plan(n.get("Mode").string(), n.get("Hostname").string(), n.get("Connections").list(c ->
                new Connection(c.get("NetworkID").string(), c.get("Aliases").stringList(),
                        c.get("IPv4Address").present() ? c.get("IPv4Address").string() : null,
                        c.get("Ports").list(p -> new PortMapping(p.get("HostIp").string(), p.get("HostPort").intValue(),
                                p.get("ContainerPort").intValue(), p.get("Protocol").string(),
                                p.get("HostPortLast").present() ? p.get("HostPortLast").intValue() : 0)))));
    }

    private static void save(Path dir, Plan p) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Mode", p.mode());
        m.put("Hostname", p.hostname());
        List<Object> cs = new ArrayList<>();
        for (Connection c : p.connections()) {
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("NetworkID", c.networkId());
            cm.put("Aliases", c.aliases());
            if (c.ip() != null) {
                cm.put("IPv4Address", c.ip());
            }
            List<Object> ports = new ArrayList<>();
            for (PortMapping pm : c.ports()) {
                Map<String, Object> pmm = new LinkedHashMap<>();
                pmm.put("HostIp", pm.hostIp());
                pmm.put("HostPort", pm.hostPort());
                if (pm.isRange()) {
                    pmm.put("HostPortLast", pm.hostPortLast());
                }
                pmm.put("ContainerPort", pm.containerPort());
                pmm.put("Protocol", pm.protocol());
                ports.add(pmm);
            }
            cm.put("Ports", ports);
            cs.add(cm);
        }
        m.put("Connections", cs);
        Path tmp = dir.resolve("." + FILE + ".tmp");
        Files.writeString(tmp, Json.writePretty(m), StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
