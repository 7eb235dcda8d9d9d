package io.vessel.engine.network;

import io.vessel.engine.container.ResolvConf;
import io.vessel.linux.Fd;
import io.vessel.linux.NetNamespace;
import io.vessel.linux.RtNetlink;
import io.vessel.linux.Sysctl;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Docker's networks for the engine: the predefined {@code bridge} (on the Linux bridge
 * {@link NetworksConfig#defaultBridge()}), {@code host} and {@code none}, and user-defined
 * bridge networks, each on a bridge of its own. A container attached to bridge networks gets a
 * network namespace of its own pinned under {@link NetworksConfig#netnsDir()}, one veth pair per
 * network (the host end in the bridge, the other its {@code ethN}), an address from the network's
 * persisted allocator, a default route through the gateway, outbound NAT, published ports, and a
 * hosts file naming the other members of its user-defined networks, rewritten in place as they
 * come and go.
 *
 * <p>{@code networks.json} is the truth; kernel objects (bridges, veths, namespaces, the nftables
 * table) are made from it, and every change first records, then acts, and undoes its record when
 * the kernel refuses. Names of kernel objects derive from IDs, so {@link #release} finds what a
 * crash left.
 */
public final class Networks {
    /** The predefined bridge network's name. */
    public static final String DEFAULT_NETWORK = "bridge";
    /**
     * Docker's default address pools: 172.17.0.0/16 to 172.31.0.0/16, then 192.168.0.0/20 to
     * 192.168.240.0/20; a pool is taken only when it overlaps no route of the host and no network.
     */
    static final List<Subnet> DEFAULT_POOLS = pools();
    /** Docker's network names. */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}");
    /** Host names and aliases as /etc/hosts holds them. */
    private static final Pattern HOST_NAME = Pattern.compile("[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,252})?");
    /** Container IDs become file names: no separators, no leading dot. */
    private static final Pattern CONTAINER_ID = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}");
    /** Prefix of user-defined networks' bridges: "vbr-" + 11 hex digits of the ID is IFNAMSIZ-1 long. */
    private static final String BRIDGE_PREFIX = "vbr-";
    private static final String VETH_PREFIX = "veth";
    private static final int NAME_HEX = RtNetlink.MAX_NAME - 4;
    /** The interface name inside the container: eth0, eth1... by order of connection. */
    private static final String IFACE_PREFIX = "eth";
    /** MAC addresses as Docker makes them: 02:42 (locally administered) and the four address bytes. */
    private static final byte[] MAC_PREFIX = {0x02, 0x42};
    private static final String HOSTS_HEADER = """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            ff00::0\tip6-mcastprefix
            ff02::1\tip6-allnodes
            ff02::2\tip6-allrouters
            """;
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The default MTU of Ethernet links, and so of veths. */
    private static final int ETHERNET_MTU = 1500;

    private final NetworksConfig config;
    private final NetworkStore store;
    private final Nftables nft;

    private Networks(NetworksConfig config) throws IOException {
        this.config = config;
        this.store = new NetworkStore(config.stateDir());
        this.nft = new Nftables(config.nftTable());
    }

    /**
     * Opens the store, adding the predefined networks on first use (the default bridge's subnet:
     * the configured one, else the first free pool). Makes no kernel object: the default bridge
     * appears with its first container.
     */
    public static Networks open(NetworksConfig config) throws IOException {
        Networks n = new Networks(config);
        Files.createDirectories(config.netnsDir());
        Files.createDirectories(config.stateDir().resolve("containers"));
        n.store.locked(() -> {
            List<Network> all = n.store.load();
            boolean changed = false;
            if (find(all, DEFAULT_NETWORK).isEmpty()) {
                Subnet subnet = config.defaultSubnet() != null
                        ? Subnet.parse(config.defaultSubnet(), "default bridge subnet")
                        : n.freePool(all);
                n.checkFree(subnet, all);
                all.add(new Network(newId(), DEFAULT_NETWORK, "bridge", config.defaultBridge(), subnet,
                        subnet.host(1), false, Map.of(), Instant.now(), List.of(), 2));
                changed = true;
            }
            for (String[] p : new String[][]{{"host", "host"}, {"none", "null"}}) {
                if (find(all, p[0]).isEmpty()) {
                    all.add(new Network(newId(), p[0], p[1], null, null, 0, false, Map.of(), Instant.now(), List.of(), 0));
                    changed = true;
                }
            }
            if (changed) {
                n.store.save(all);
            }
            return null;
        });
        return n;
    }

    public NetworksConfig config() {
        return config;
    }

    // ---- networks

    /** Every network, predefined ones included, with their endpoints. */
    public List<Network> list() throws IOException {
        return store.locked(store::load);
    }

    /** The network named {@code ref}, or with that ID or unique ID prefix. */
    public Network inspect(String ref) throws IOException {
        return store.locked(() -> resolve(store.load(), ref));
    }

    /** {@code network create}: a bridge network with its own Linux bridge, up, with the gateway address. */
    public Network create(CreateRequest request) throws IOException {
        String name = request.name();
        if (name == null || !NAME.matcher(name).matches()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "invalid network name \"" + name
                    + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 64 characters");
        }
        if (!request.driver().equals("bridge")) {
            throw new NetworkException(NetworkException.Kind.INVALID, "network driver \"" + request.driver()
                    + "\" is not supported: only bridge networks can be created (host and none exist already)");
        }
        return store.locked(() -> {
            List<Network> all = store.load();
            if (find(all, name).isPresent()) {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "network with name " + name + " already exists");
            }
            Subnet subnet;
            if (request.subnet() != null && !request.subnet().isEmpty()) {
                subnet = parse(() -> Subnet.parse(request.subnet(), "--subnet"));
                if (subnet.prefix() > 30 || subnet.prefix() < 8) {
                    throw new NetworkException(NetworkException.Kind.INVALID, "--subnet " + subnet
                            + ": the prefix length must be 8 to 30 (room for a gateway and containers)");
                }
                checkFree(subnet, all);
            } else if (request.gateway() != null && !request.gateway().isEmpty()) {
                throw new NetworkException(NetworkException.Kind.INVALID, "--gateway needs --subnet");
            } else {
                subnet = freePool(all);
            }
            int gateway = subnet.host(1);
            if (request.gateway() != null && !request.gateway().isEmpty()) {
                gateway = parse(() -> Subnet.parseAddress(request.gateway(), "--gateway"));
                checkHostAddress(subnet, gateway, "--gateway " + request.gateway());
            }
            String id = newId();
            Network n = new Network(id, name, "bridge", BRIDGE_PREFIX + id.substring(0, NAME_HEX), subnet, gateway,
                    request.internal(), request.labels(), Instant.now(), List.of(), firstHost(subnet, gateway));
            all.add(n);
            store.save(all);
            try (RtNetlink rt = RtNetlink.open()) {
                ensureBridge(rt, n);
                applyRules(all, rt);
            } catch (IOException | RuntimeException e) {
                all.remove(n);
                store.save(all);
                try (RtNetlink rt = RtNetlink.open()) {
                    rt.deleteLinkIfExists(n.bridge());
                    applyRules(all, rt);
                } catch (IOException | RuntimeException undo) {
                    e.addSuppressed(undo);
                }
                throw e;
            }
            return n;
        });
    }

    /** {@code network rm}: refused for predefined networks and while containers are attached. */
    public void remove(String ref) throws IOException {
        store.locked(() -> {
            List<Network> all = store.load();
            Network n = resolve(all, ref);
            if (n.predefined()) {
                throw new NetworkException(NetworkException.Kind.INVALID,
                        n.name() + " is a pre-defined network and cannot be removed");
            }
            if (!n.endpoints().isEmpty()) {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "network " + n.name()
                        + " has active endpoints: " + String.join(", ",
                        n.endpoints().stream().map(e -> displayName(e)).toList()));
            }
            all.remove(n);
            store.save(all);
            try (RtNetlink rt = RtNetlink.open()) {
                rt.deleteLinkIfExists(n.bridge());
                applyRules(all, rt);
            }
            return null;
        });
    }

    /** {@code network prune}: removes user-defined networks without endpoints; returns their names. */
    public List<String> prune() throws IOException {
        return store.locked(() -> {
            List<String> removed = new ArrayList<>();
            for (Network n : store.load()) {
                if (!n.predefined() && n.endpoints().isEmpty()) {
                    remove(n.id());
                    removed.add(n.name());
                }
            }
            return removed;
        });
    }

    // ---- containers

    /**
     * Attaches a container to a bridge network: its namespace (made if needed), a veth pair, an
     * address, the default route (on its first network), published ports, and its hosts and
     * resolv.conf files; the other members' hosts files gain it.
     */
    public Attachment connect(ConnectRequest r) throws IOException {
        checkContainerId(r.containerId());
        for (String alias : r.aliases()) {
            checkHostName(alias, "alias");
        }
        if (r.containerName() != null && !r.containerName().isEmpty()) {
            checkHostName(r.containerName(), "container name");
        }
        if (r.hostname() != null && !r.hostname().isEmpty()) {
            checkHostName(r.hostname(), "hostname");
        }
        return store.locked(() -> {
            List<Network> all = store.load();
            Network n = resolve(all, r.network());
            if (!n.isBridge()) {
                throw new NetworkException(NetworkException.Kind.INVALID, "container cannot be connected to network "
                        + n.name() + " (driver " + n.driver() + "): use --network " + n.name() + " when creating it");
            }
            if (endpoint(n, r.containerId()).isPresent()) {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "container " + r.containerId()
                        + " is already connected to network " + n.name());
            }
            List<PortMapping> ports = choosePorts(all, r.ports());
            checkPorts(all, ports);
            int ip = allocate(n, r.ip());
            Set<String> ifaces = new HashSet<>();
            for (Network o : all) {
                endpoint(o, r.containerId()).ifPresent(e -> ifaces.add(e.iface()));
            }
            boolean first = ifaces.isEmpty();
            String iface = IFACE_PREFIX + 0;
            for (int i = 0; ifaces.contains(iface); i++) {
                iface = IFACE_PREFIX + (i + 1);
            }
            String hostname = r.hostname() != null && !r.hostname().isEmpty() ? r.hostname() : shortId(r.containerId());
            Endpoint e = new Endpoint(r.containerId(), r.containerName() == null ? "" : r.containerName(), hostname,
                    r.aliases(), ip, mac(ip), iface, vethName(r.containerId(), n.id()), ports);
            List<Endpoint> eps = new ArrayList<>(n.endpoints());
            eps.add(e);
            Network updated = n.withEndpoints(eps, next(n, ip));
            all.set(all.indexOf(n), updated);
            store.save(all);

            Path ns = netnsPath(r.containerId());
            boolean madeNs = false;
            try (RtNetlink rt = RtNetlink.open()) {
                ensureBridge(rt, updated);
                madeNs = ensureSandbox(ns);
                plugIn(rt, updated, e, ns, first);
                applyRules(all, rt);
                writeFiles(all, r.containerId());
                for (Endpoint other : updated.endpoints()) {
                    if (!other.containerId().equals(r.containerId())) {
                        writeFiles(all, other.containerId());
                    }
                }
            } catch (IOException | RuntimeException failure) {
                undoConnect(all, updated, e, ns, madeNs, failure);
                throw failure;
            }
            return attachment(updated, e);
        });
    }

    private void undoConnect(List<Network> all, Network n, Endpoint e, Path ns, boolean madeNs, Exception failure) {
        try (RtNetlink rt = RtNetlink.open()) {
            rt.deleteLinkIfExists(e.hostVeth());
            List<Endpoint> eps = new ArrayList<>(n.endpoints());
            eps.remove(e);
            all.set(all.indexOf(n), n.withEndpoints(eps, n.nextHost()));
            store.save(all);
            if (madeNs) {
                NetNamespace.remove(ns);
            }
            applyRules(all, rt);
        } catch (IOException | RuntimeException undo) {
            failure.addSuppressed(undo);
        }
    }

    /** Detaches a container from one network: its veth goes, its address returns to the allocator. */
    public void disconnect(String network, String containerId) throws IOException {
        checkContainerId(containerId);
        store.locked(() -> {
            List<Network> all = store.load();
            Network n = resolve(all, network);
            Endpoint e = endpoint(n, containerId).orElseThrow(() -> new NetworkException(NetworkException.Kind.NOT_FOUND,
                    "container " + containerId + " is not connected to network " + n.name()));
            List<Endpoint> eps = new ArrayList<>(n.endpoints());
            eps.remove(e);
            Network updated = n.withEndpoints(eps, n.nextHost());
            all.set(all.indexOf(n), updated);
            store.save(all);
            try (RtNetlink rt = RtNetlink.open()) {
                rt.deleteLinkIfExists(e.hostVeth());
                applyRules(all, rt);
            }
            writeFiles(all, containerId);
            for (Endpoint other : updated.endpoints()) {
                writeFiles(all, other.containerId());
            }
            return null;
        });
    }

    /**
     * {@code docker rename}: the container's endpoints carry the new name, and the hosts files of
     * the other members of its user-defined networks resolve it by that name from now on.
     */
    public void rename(String containerId, String newName) throws IOException {
        checkContainerId(containerId);
        checkHostName(newName, "container name");
        store.locked(() -> {
            List<Network> all = store.load();
            Set<String> touched = new LinkedHashSet<>();
            boolean changed = false;
            for (int i = 0; i < all.size(); i++) {
                Network n = all.get(i);
                Optional<Endpoint> e = endpoint(n, containerId);
                if (e.isEmpty()) {
                    continue;
                }
                Endpoint old = e.get();
                List<Endpoint> eps = new ArrayList<>(n.endpoints());
                eps.set(eps.indexOf(old), new Endpoint(old.containerId(), newName, old.hostname(), old.aliases(),
                        old.ip(), old.mac(), old.iface(), old.hostVeth(), old.ports()));
                all.set(i, n.withEndpoints(eps, n.nextHost()));
                eps.forEach(o -> touched.add(o.containerId()));
                changed = true;
            }
            if (changed) {
                store.save(all);
                for (String c : touched) {
                    writeFiles(all, c);
                }
            }
            return null;
        });
    }

    /**
     * Everything networking holds for a container, gone: endpoints on every network (addresses
     * released, veths deleted, ports unpublished), its namespace unpinned, its files deleted. Safe
     * to repeat, and finds what an interrupted connect left.
     */
    public void release(String containerId) throws IOException {
        checkContainerId(containerId);
        store.locked(() -> {
            List<Network> all = store.load();
            List<Endpoint> gone = new ArrayList<>();
            Set<String> touched = new LinkedHashSet<>();
            for (int i = 0; i < all.size(); i++) {
                Network n = all.get(i);
                Optional<Endpoint> e = endpoint(n, containerId);
                if (e.isPresent()) {
                    List<Endpoint> eps = new ArrayList<>(n.endpoints());
                    eps.remove(e.get());
                    all.set(i, n.withEndpoints(eps, n.nextHost()));
                    gone.add(e.get());
                    eps.forEach(o -> touched.add(o.containerId()));
                }
            }
            if (!gone.isEmpty()) {
                store.save(all);
            }
            IOException failure = null;
            try (RtNetlink rt = RtNetlink.open()) {
                for (Network n : all) {
                    if (n.isBridge()) {
                        rt.deleteLinkIfExists(vethName(containerId, n.id())); // also what a crash left
                    }
                }
                if (!gone.isEmpty()) {
                    applyRules(all, rt);
                }
            } catch (IOException e) {
                failure = e;
            }
            try {
                NetNamespace.remove(netnsPath(containerId));
            } catch (IOException e) {
                failure = keep(failure, e);
            }
            try {
                io.vessel.linux.FileTrees.remove(filesDir(containerId));
            } catch (IOException e) {
                failure = keep(failure, e);
            }
            for (String other : touched) {
                try {
                    writeFiles(all, other);
                } catch (IOException e) {
                    failure = keep(failure, e);
                }
            }
            if (failure != null) {
                throw failure;
            }
            return null;
        });
    }

    /**
     * The container's own network namespace (made, with loopback up, if it has none yet): for
     * {@code --network none}, and for others to share with {@code container:NAME}.
     */
    public Path sandbox(String containerId) throws IOException {
        checkContainerId(containerId);
        return store.locked(() -> {
            Path ns = netnsPath(containerId);
            ensureSandbox(ns);
            return ns;
        });
    }

    /** The container's pinned network namespace, if it has one ({@code container:NAME} joins it). */
    public Optional<Path> netnsOf(String containerId) throws IOException {
        checkContainerId(containerId);
        Path ns = netnsPath(containerId);
        return NetNamespace.isPinned(ns) ? Optional.of(ns) : Optional.empty();
    }

    /** The container's attachments, one per network, in connection order of the networks. */
    public List<Attachment> attachments(String containerId) throws IOException {
        return store.locked(() -> {
            List<Attachment> out = new ArrayList<>();
            for (Network n : store.load()) {
                Optional<Endpoint> e = endpoint(n, containerId);
                if (e.isPresent()) {
                    out.add(attachment(n, e.get()));
                }
            }
            return out;
        });
    }

    /** The hosts file a container attached to a network bind-mounts (kept up to date in place). */
    public Path hostsPath(String containerId) {
        return filesDir(containerId).resolve("hosts");
    }

    public Path resolvConfPath(String containerId) {
        return filesDir(containerId).resolve("resolv.conf");
    }

    /**
     * Brings the kernel in line with {@code networks.json}, for the daemon's start: user-defined
     * networks get their bridges back (after a reboot), endpoints whose namespace is gone (a reboot
     * empties /run) are released, and the nftables table is rewritten. Returns the released container IDs.
     */
    public List<String> reconcile() throws IOException {
        return store.locked(() -> {
            List<String> stale = new ArrayList<>();
            for (Network n : store.load()) {
                for (Endpoint e : n.endpoints()) {
                    if (!stale.contains(e.containerId()) && !NetNamespace.isPinned(netnsPath(e.containerId()))) {
                        stale.add(e.containerId());
                    }
                }
            }
            for (String c : stale) {
                release(c);
            }
            List<Network> all = store.load();
            try (RtNetlink rt = RtNetlink.open()) {
                for (Network n : all) {
                    // the default bridge exists only once a container used it
                    if (n.isBridge() && (!n.predefined() || !n.endpoints().isEmpty() || rt.link(n.bridge()).isPresent())) {
                        ensureBridge(rt, n);
                    }
                }
                applyRules(all, rt);
            }
            return stale;
        });
    }

    /**
     * Deletes the kernel objects of networks no container uses: their bridges (the default one
     * too) and, when no bridge is left in use, the nftables table. For an engine whose state is
     * going away (tests, uninstalling); the store keeps the networks, which {@link #reconcile}
     * brings back.
     */
    public void dismantle() throws IOException {
        store.locked(() -> {
            List<Network> all = store.load();
            try (RtNetlink rt = RtNetlink.open()) {
                for (Network n : all) {
                    if (n.isBridge() && n.endpoints().isEmpty()) {
                        rt.deleteLinkIfExists(n.bridge());
                    }
                }
                applyRules(all, rt);
            }
            return null;
        });
    }

    // ---- kernel objects

    private void ensureBridge(RtNetlink rt, Network n) throws IOException {
        if (rt.link(n.bridge()).isEmpty()) {
            rt.createBridge(n.bridge());
        }
        boolean hasAddress = false;
        int index = rt.index(n.bridge());
        for (RtNetlink.Address a : rt.addresses()) {
            if (a.index() == index && Subnet.fromInet(a.address()) == n.gateway()) {
                hasAddress = true;
            }
        }
        if (!hasAddress) {
            rt.addAddress(n.bridge(), Subnet.inet(n.gateway()), n.subnet().prefix());
        }
        rt.setUp(n.bridge(), true);
        Sysctl.write("net/ipv4/ip_forward", "1");
        // published ports on 127.0.0.1 reach the bridge with a loopback source (masqueraded after)
        Sysctl.write("net/ipv4/conf/" + n.bridge() + "/route_localnet", "1");
    }

    /** Pins a new namespace at {@code ns} with loopback up unless one is pinned there; says whether it made one. */
    private static boolean ensureSandbox(Path ns) throws IOException {
        if (NetNamespace.isPinned(ns)) {
            return false;
        }
        Files.deleteIfExists(ns); // a file without its mount: left by a crash
        NetNamespace.create(ns);
        try (RtNetlink inside = RtNetlink.openIn(ns)) {
            inside.setUp("lo", true);
        } catch (IOException | RuntimeException e) {
            NetNamespace.remove(ns);
            throw e;
        }
        return true;
    }

    private static void plugIn(RtNetlink rt, Network n, Endpoint e, Path ns, boolean defaultRoute) throws IOException {
        rt.deleteLinkIfExists(e.hostVeth()); // left by a crash: its name is ours
        try (Fd nsFd = io.vessel.linux.Files.open(ns.toString(),
                io.vessel.linux.Files.O_RDONLY | io.vessel.linux.Files.O_CLOEXEC, 0);
             RtNetlink inside = RtNetlink.openIn(ns)) {
            rt.createVeth(e.hostVeth(), e.iface(), nsFd, HexFormat.ofDelimiter(":").parseHex(e.mac()));
            int mtu = uplinkMtu(rt);
            rt.setMtu(e.hostVeth(), mtu);
            inside.setMtu(e.iface(), mtu);
            rt.setMaster(e.hostVeth(), n.bridge());
            rt.setUp(e.hostVeth(), true);
            inside.addAddress(e.iface(), Subnet.inet(e.ip()), n.subnet().prefix());
            inside.setUp(e.iface(), true);
            if (defaultRoute && inside.routes().stream().noneMatch(r -> r.prefix() == 0)) {
                inside.addRoute(Subnet.inet(0), 0, Subnet.inet(n.gateway()), e.iface());
            }
        }
    }

    /**
     * The MTU for containers' links: that of the link the host's default route leaves by, at most
     * Ethernet's 1500 (a smaller uplink, as on tunnelled or cloud hosts, would otherwise drop
     * full-size packets the containers send out).
     */
    private static int uplinkMtu(RtNetlink rt) throws IOException {
        int mtu = ETHERNET_MTU;
        for (RtNetlink.Route r : rt.routes()) {
            if (r.table() == RtNetlink.RT_TABLE_MAIN && r.prefix() == 0 && r.oif() != 0) {
                for (RtNetlink.Link l : rt.links()) {
                    if (l.index() == r.oif() && l.mtu() > 0) {
                        mtu = Math.min(mtu, l.mtu());
                    }
                }
            }
        }
        return mtu;
    }

    private void applyRules(List<Network> all, RtNetlink rt) throws IOException {
        Set<String> live = new HashSet<>();
        for (RtNetlink.Link l : rt.links()) {
            live.add(l.name());
        }
        nft.apply(all, live);
    }

    // ---- files

    private Path filesDir(String containerId) {
        return config.stateDir().resolve("containers").resolve(containerId);
    }

    private Path netnsPath(String containerId) {
        return config.netnsDir().resolve(containerId);
    }

    /** Writes the container's hosts (in place, for live bind mounts) and, once, its resolv.conf. */
    private void writeFiles(List<Network> all, String containerId) throws IOException {
        List<Network> mine = new ArrayList<>();
        for (Network n : all) {
            if (endpoint(n, containerId).isPresent()) {
                mine.add(n);
            }
        }
        Path dir = filesDir(containerId);
        if (mine.isEmpty() && !Files.isDirectory(dir)) {
            return;
        }
        Files.createDirectories(dir);
        StringBuilder hosts = new StringBuilder(HOSTS_HEADER);
        Set<String> own = new LinkedHashSet<>();
        for (Network n : mine) {
            Endpoint e = endpoint(n, containerId).orElseThrow();
            if (own.add(e.ipAddress())) {
                hosts.append(e.ipAddress()).append('\t').append(e.hostname()).append('\n');
            }
        }
        for (Network n : mine) {
            if (!n.resolvesNames()) {
                continue;
            }
            for (Endpoint o : n.endpoints()) {
                if (!o.containerId().equals(containerId) && !o.names().isEmpty()) {
                    hosts.append(o.ipAddress()).append('\t').append(String.join(" ", o.names())).append('\n');
                }
            }
        }
        writeInPlace(hostsPath(containerId), hosts.toString());
        Path resolv = resolvConfPath(containerId);
        if (!Files.exists(resolv)) {
            String host;
            try {
                host = Files.readString(Path.of("/etc/resolv.conf"));
            } catch (NoSuchFileException e) {
                host = "";
            }
            writeInPlace(resolv, ResolvConf.forContainer(host));
        }
    }

    /** Truncates and rewrites the same inode: a bind mount of the file shows the new text. */
    private static void writeInPlace(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    // ---- IPAM and checks

    /** The static address if given (checked), else the next free one from the cursor, wrapping once. */
    private static int allocate(Network n, String wanted) throws NetworkException {
        Set<Integer> used = new HashSet<>();
        for (Endpoint e : n.endpoints()) {
            used.add(e.ip());
        }
        if (wanted != null && !wanted.isEmpty()) {
            int ip = parse(() -> Subnet.parseAddress(wanted, "--ip"));
            checkHostAddress(n.subnet(), ip, "--ip " + wanted);
            if (ip == n.gateway()) {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "--ip " + wanted + " is the gateway of network "
                        + n.name());
            }
            if (used.contains(ip)) {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "address " + wanted
                        + " is already in use on network " + n.name());
            }
            return ip;
        }
        long count = 1L << (32 - n.subnet().prefix());
        long start = Integer.toUnsignedLong(n.nextHost());
        for (long i = 0; i < count; i++) {
            long offset = (start + i) % count;
            int ip = n.subnet().host((int) offset);
            if (offset == 0 || ip == n.subnet().broadcast() || ip == n.gateway() || used.contains(ip)) {
                continue;
            }
            return ip;
        }
        throw new NetworkException(NetworkException.Kind.CONFLICT, "network " + n.name() + " has no free address left in "
                + n.subnet());
    }

    private static int next(Network n, int allocated) {
        return allocated - n.subnet().network() + 1;
    }

    private static int firstHost(Subnet subnet, int gateway) {
        return gateway == subnet.host(1) ? 2 : 1;
    }

    private static void checkHostAddress(Subnet subnet, int ip, String what) throws NetworkException {
        if (!subnet.contains(ip)) {
            throw new NetworkException(NetworkException.Kind.INVALID, what + " is not in subnet " + subnet);
        }
        if (ip == subnet.network() || ip == subnet.broadcast()) {
            throw new NetworkException(NetworkException.Kind.INVALID, what + " is the "
                    + (ip == subnet.network() ? "network" : "broadcast") + " address of " + subnet);
        }
    }

    /** Refuses a subnet overlapping a Vessel network or one of the host's routes (other than the default route). */
    private void checkFree(Subnet subnet, List<Network> all) throws IOException {
        for (Network n : all) {
            if (n.subnet() != null && n.subnet().overlaps(subnet)) {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "subnet " + subnet + " overlaps network "
                        + n.name() + " (" + n.subnet() + ")");
            }
        }
        for (HostRoute r : hostRoutes(all)) {
            if (r.subnet().overlaps(subnet)) {
                throw new NetworkException(NetworkException.Kind.CONFLICT, "subnet " + subnet
                        + " overlaps the host's route to " + r.subnet() + " on " + r.dev());
            }
        }
    }

    private Subnet freePool(List<Network> all) throws IOException {
        List<HostRoute> routes = hostRoutes(all);
        for (Subnet pool : DEFAULT_POOLS) {
            boolean free = all.stream().noneMatch(n -> n.subnet() != null && n.subnet().overlaps(pool))
                    && routes.stream().noneMatch(r -> r.subnet().overlaps(pool));
            if (free) {
                return pool;
            }
        }
        throw new NetworkException(NetworkException.Kind.CONFLICT,
                "no default address pool is free (172.17-31.0.0/16, 192.168.0-240.0/20 all overlap routes or networks):"
                        + " give --subnet");
    }

    private record HostRoute(Subnet subnet, String dev) {
    }

    /** The main table's routes, but the default route and those through this store's bridges. */
    private List<HostRoute> hostRoutes(List<Network> all) throws IOException {
        Set<String> ours = new HashSet<>();
        ours.add(config.defaultBridge());
        for (Network n : all) {
            if (n.bridge() != null) {
                ours.add(n.bridge());
            }
        }
        List<HostRoute> out = new ArrayList<>();
        try (RtNetlink rt = RtNetlink.open()) {
            java.util.Map<Integer, String> names = new java.util.HashMap<>();
            for (RtNetlink.Link l : rt.links()) {
                names.put(l.index(), l.name());
            }
            for (RtNetlink.Route r : rt.routes()) {
                if (r.table() != RtNetlink.RT_TABLE_MAIN || r.prefix() == 0) {
                    continue;
                }
                String dev = names.getOrDefault(r.oif(), "link " + r.oif());
                if (ours.contains(dev)) {
                    continue;
                }
                int dst = Subnet.fromInet(r.destination()) & Subnet.mask(r.prefix());
                out.add(new HostRoute(new Subnet(dst, r.prefix()), dev));
            }
        }
        return out;
    }

    /** Refuses a port some endpoint publishes already, or that a host process holds. */
    private static void checkPorts(List<Network> all, List<PortMapping> ports) throws NetworkException {
        for (int i = 0; i < ports.size(); i++) {
            PortMapping p = ports.get(i);
            for (int j = 0; j < i; j++) {
                if (ports.get(j).clashes(p)) {
                    throw allocated(p, "it is published twice");
                }
            }
            for (Network n : all) {
                for (Endpoint e : n.endpoints()) {
                    for (PortMapping q : e.ports()) {
                        if (q.clashes(p)) {
                            throw allocated(p, "container " + displayName(e) + " publishes it");
                        }
                    }
                }
            }
            probeHostPort(p);
        }
    }

    /**
     * Gives each mapping asking for {@link PortMapping#ANY_PORT} a port the kernel calls free on
     * its address (bound to port 0 and let go), as Docker does for {@code -p 80} and {@code -P};
     * and each mapping with a range the first port of it that no endpoint publishes, no earlier
     * mapping of the request took, and a bind finds free (Docker's {@code -p 8000-8010:80}).
     */
    private static List<PortMapping> choosePorts(List<Network> all, List<PortMapping> ports) throws NetworkException {
        List<PortMapping> out = new ArrayList<>();
        for (PortMapping p : ports) {
            if (p.isRange()) {
                out.add(chooseInRange(all, out, p));
                continue;
            }
            if (p.hostPort() != PortMapping.ANY_PORT) {
                out.add(p);
                continue;
            }
            try {
                out.add(p.withHostPort(bindFree(p, 0)));
            } catch (IOException e) {
                throw new NetworkException(NetworkException.Kind.INVALID, "cannot choose a free host port on "
                        + p.hostIp() + " for container port " + p.containerPort() + "/" + p.protocol() + ": "
                        + e.getMessage());
            }
        }
        return out;
    }

    private static PortMapping chooseInRange(List<Network> all, List<PortMapping> taken, PortMapping p)
            throws NetworkException {
        for (int port = p.hostPort(); port <= p.hostPortLast(); port++) {
            PortMapping c = p.withHostPort(port);
            boolean published = taken.stream().anyMatch(c::clashes) || all.stream()
                    .flatMap(n -> n.endpoints().stream()).flatMap(e -> e.ports().stream()).anyMatch(c::clashes);
            if (published) {
                continue;
            }
            try {
                bindFree(c, port);
                return c;
            } catch (IOException inUse) {
                // a host process holds it: the next one
            }
        }
        throw allocated(p, "no port of " + p.hostPort() + "-" + p.hostPortLast() + " is free");
    }

    /** Binds {@code port} (0: any) on the mapping's address and protocol and lets it go; the port bound. */
    private static int bindFree(PortMapping p, int port) throws IOException {
        InetSocketAddress at = new InetSocketAddress(InetAddress.getByName(p.hostIp()), port);
        if (p.protocol().equals("tcp")) {
            try (ServerSocket s = new ServerSocket()) {
                s.bind(at);
                return s.getLocalPort();
            }
        }
        try (DatagramSocket s = new DatagramSocket(at)) {
            return s.getLocalPort();
        }
    }

    private static NetworkException allocated(PortMapping p, String why) {
        return new NetworkException(NetworkException.Kind.CONFLICT, "Bind for " + p.hostIp() + ":" + p.hostPort()
                + " failed: port is already allocated (" + why + ")");
    }

    /** A host process listening on the port would be shadowed by the DNAT rule: refuse, as Docker's proxy would. */
    private static void probeHostPort(PortMapping p) throws NetworkException {
        try {
            bindFree(p, p.hostPort());
        } catch (BindException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("assign requested address")) {
                throw new NetworkException(NetworkException.Kind.INVALID, "cannot publish on " + p.hostIp()
                        + ": not an address of this host");
            }
            throw allocated(p, "a host process listens on it");
        } catch (IOException e) {
            throw new NetworkException(NetworkException.Kind.INVALID, "cannot publish " + p + ": " + e.getMessage());
        }
    }

    // ---- lookups and names

    private static Optional<Network> find(List<Network> all, String name) {
        return all.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    private static Network resolve(List<Network> all, String ref) throws NetworkException {
        if (ref == null || ref.isEmpty()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "no network given");
        }
        for (Network n : all) {
            if (n.id().equals(ref)) {
                return n;
            }
        }
        Optional<Network> byName = find(all, ref);
        if (byName.isPresent()) {
            return byName.get();
        }
        List<Network> prefixed = all.stream().filter(n -> n.id().startsWith(ref)).toList();
        if (prefixed.size() == 1) {
            return prefixed.getFirst();
        }
        if (prefixed.size() > 1) {
            throw new NetworkException(NetworkException.Kind.INVALID, "network " + ref + " is ambiguous ("
                    + prefixed.size() + " matches found based on ID prefix)");
        }
        throw new NetworkException(NetworkException.Kind.NOT_FOUND, "network " + ref + " not found");
    }

    private static Optional<Endpoint> endpoint(Network n, String containerId) {
        return n.endpoints().stream().filter(e -> e.containerId().equals(containerId)).findFirst();
    }

    private Attachment attachment(Network n, Endpoint e) {
        return new Attachment(n.id(), n.name(), netnsPath(e.containerId()), e.iface(), e.ipAddress(),
                n.subnet().prefix(), n.gatewayAddress(), e.mac(), hostsPath(e.containerId()),
                resolvConfPath(e.containerId()), e.ports());
    }

    private static String displayName(Endpoint e) {
        return e.containerName().isEmpty() ? shortId(e.containerId()) : e.containerName();
    }

    private static String shortId(String id) {
        return id.substring(0, Math.min(12, id.length()));
    }

    private static void checkContainerId(String id) throws NetworkException {
        if (id == null || !CONTAINER_ID.matcher(id).matches()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "invalid container ID \"" + id + "\"");
        }
    }

    private static void checkHostName(String name, String what) throws NetworkException {
        if (!HOST_NAME.matcher(name).matches()) {
            throw new NetworkException(NetworkException.Kind.INVALID, "invalid " + what + " \"" + name
                    + "\": letters, digits, '_', '.' and '-' only, starting with a letter or digit");
        }
    }

    /** The host end of a container's veth on a network: derived from both IDs, so a crash's leftover is found. */
    static String vethName(String containerId, String networkId) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest((containerId + "/" + networkId).getBytes(StandardCharsets.UTF_8));
            return VETH_PREFIX + HexFormat.of().formatHex(h).substring(0, NAME_HEX);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String mac(int ip) {
        return HexFormat.ofDelimiter(":").formatHex(new byte[]{MAC_PREFIX[0], MAC_PREFIX[1], (byte) (ip >>> 24),
                (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip});
    }

    private static String newId() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static List<Subnet> pools() {
        List<Subnet> p = new ArrayList<>();
        for (int b = 17; b <= 31; b++) {
            p.add(new Subnet((172 << 24) | (b << 16), 16));
        }
        for (int c = 0; c <= 240; c += 16) {
            p.add(new Subnet((192 << 24) | (168 << 16) | (c << 8), 20));
        }
        return List.copyOf(p);
    }

    private interface Parse<T> {
        T get();
    }

    private static <T> T parse(Parse<T> p) throws NetworkException {
        try {
            return p.get();
        } catch (IllegalArgumentException e) {
            throw new NetworkException(NetworkException.Kind.INVALID, e.getMessage());
        }
    }

    private static IOException keep(IOException first, IOException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }
}
