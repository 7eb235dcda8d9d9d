package io.vessel.engine.network;

import io.vessel.linux.NetNamespace;
import io.vessel.linux.RtNetlink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Networks against the real kernel, nftables and busybox: every test has its own state, netns
 * directory, default bridge name and nftables table, and removes all of them afterwards.
 */
class NetworksTest {
    private Path dir;
    private NetworksConfig config;
    private Networks networks;
    private final List<String> containers = new ArrayList<>();

    @BeforeEach
    void open() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "bridges, veths and nftables need root");
        assumeTrue(onPath("nft") && onPath("busybox") && onPath("nsenter") && onPath("unshare"),
                "needs nft, busybox, nsenter and unshare (scripts/install-deps.sh --test)");
        dir = Files.createTempDirectory("vessel-net");
        String tag = hex(3);
        config = new NetworksConfig(dir.resolve("state"), dir.resolve("netns"), "vt" + tag, "vessel_t" + tag, null);
        networks = Networks.open(config);
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (networks == null) {
            return;
        }
        for (String c : containers) {
            networks.release(c);
        }
        for (Network n : networks.list()) {
            if (!n.predefined()) {
                networks.remove(n.id());
            }
        }
        try (RtNetlink rt = RtNetlink.open()) {
            rt.deleteLinkIfExists(config.defaultBridge());
        }
        new Nftables(config.nftTable()).delete();
        try (var s = Files.list(config.netnsDir())) {
            for (Path p : s.toList()) {
                NetNamespace.remove(p);
            }
        }
        io.vessel.linux.FileTrees.remove(dir);
    }

    /** Connects {@code container} as {@code name} to {@code network}, publishing {@code -p spec}. */
    private Attachment publish(String network, String container, String name, String spec) throws Exception {
        return networks.connect(new ConnectRequest(network, container, name, null, List.of(), null,
                List.of(PortMapping.parse(spec))));
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private String container() {
        String id = hex(32);
        containers.add(id);
        return id;
    }

    @Test
    void twoContainersOnAUserNetworkReachEachOtherByNameAndAlias() throws Exception {
        Network net = networks.create(CreateRequest.bridge("tnet"));
        String c1 = container();
        String c2 = container();
        Attachment a1 = networks.connect(new ConnectRequest("tnet", c1, "alpha", null, List.of("db"), null, List.of()));
        Object inode = Files.getAttribute(a1.hostsPath(), "unix:ino");
        Attachment a2 = networks.connect(ConnectRequest.of(net.id(), c2, "/beta"));

        assertEquals("eth0", a1.iface());
        assertEquals(net.subnet().prefix(), a1.prefix());
        assertEquals(net.gatewayAddress(), a1.gateway());
        assertTrue(NetNamespace.isPinned(a1.netnsPath()));
        try (RtNetlink host = RtNetlink.open(); RtNetlink inside = RtNetlink.openIn(a1.netnsPath())) {
            List<RtNetlink.Link> links = host.links();
            int uplink = host.routes().stream().filter(r -> r.prefix() == 0 && r.table() == RtNetlink.RT_TABLE_MAIN)
                    .findFirst().map(r -> links.stream().filter(l -> l.index() == r.oif()).findFirst()
                            .orElseThrow().mtu()).orElse(1500);
            assertEquals(Math.min(1500, uplink), inside.link("eth0").orElseThrow().mtu(), "the uplink's MTU");
            assertEquals(a1.mac(), inside.link("eth0").orElseThrow().mac());
        }
        String hosts1 = Files.readString(a1.hostsPath());
        assertTrue(hosts1.contains(a2.ip() + "\tbeta\n"), "alpha's hosts file gained beta in place:\n" + hosts1);
        assertEquals(inode, Files.getAttribute(a1.hostsPath(), "unix:ino"), "rewritten in place, not replaced");
        assertTrue(Files.readString(a2.hostsPath()).contains(a1.ip() + "\talpha db\n"));
        assertTrue(Files.readString(a1.resolvConfPath()).contains("nameserver"));

        assertEquals(0, inContainer(a1, "busybox ping -c 1 -W 3 beta"), "alpha pings beta by name");
        assertEquals(0, inContainer(a2, "busybox ping -c 1 -W 3 db"), "beta pings alpha by its alias");
        assertEquals(0, inContainer(a2, "busybox ping -c 1 -W 3 " + a2.gateway()), "the gateway answers");

        networks.disconnect("tnet", c2);
        assertFalse(Files.readString(a1.hostsPath()).contains("beta"), "beta left alpha's hosts file");
        assertTrue(networks.netnsOf(c2).isPresent(), "disconnect keeps the namespace until release");
        try (RtNetlink rt = RtNetlink.openIn(a2.netnsPath())) {
            assertTrue(rt.link("eth0").isEmpty(), "beta's eth0 went with its veth");
        }
    }

    @Test
    void publishedPortOnLoopbackReachesAServerInTheContainer() throws Exception {
        int hostPort;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            hostPort = free.getLocalPort();
        }
        String c = container();
        Attachment a = publish(Networks.DEFAULT_NETWORK, c, "web", "127.0.0.1:" + hostPort + ":80");
        Network bridge = networks.inspect(Networks.DEFAULT_NETWORK);
        String rules = nftList();
        assertTrue(rules.contains("ip saddr " + bridge.subnet() + " oifname != \"" + config.defaultBridge()
                + "\" masquerade"), "outbound NAT for the subnet:\n" + rules);
        assertTrue(rules.contains("ip daddr 127.0.0.1 tcp dport " + hostPort + " dnat to " + a.ip() + ":80"), rules);
        assertEquals(List.of(new PortMapping("127.0.0.1", hostPort, 80, "tcp")), networks.attachments(c).getFirst().ports());

        try (ServerSocket server = NetNamespace.call(a.netnsPath(), () -> new ServerSocket(80))) {
            Thread t = Thread.ofPlatform().start(() -> {
                try (Socket s = server.accept()) {
                    s.getOutputStream().write("hello from the container\n".getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                }
            });
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", hostPort), 5000);
                s.setSoTimeout(5000);
                assertEquals("hello from the container\n",
                        new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            t.join();
        }

        NetworkException taken = assertThrows(NetworkException.class,
                () -> publish(Networks.DEFAULT_NETWORK, container(), "other", hostPort + ":8080"));
        assertEquals(NetworkException.Kind.CONFLICT, taken.kind());
        assertTrue(taken.getMessage().contains("port is already allocated"), taken.getMessage());

        networks.release(c);
        assertFalse(nftList().contains("dport " + hostPort), "the rule went with the container");
        assertFalse(Files.exists(a.netnsPath()));
    }

    @Test
    void addressesPersistAndAreNotReusedAtOnce() throws Exception {
        networks.create(new CreateRequest("ipam", "bridge", "10.213.7.0/24", "10.213.7.1", false, Map.of("k", "v")));
        String c1 = container();
        String c2 = container();
        assertEquals("10.213.7.2", networks.connect(ConnectRequest.of("ipam", c1, "one")).ip());
        assertEquals("10.213.7.3", networks.connect(ConnectRequest.of("ipam", c2, "two")).ip());

        Networks again = Networks.open(config);
        Network n = again.inspect("ipam");
        assertEquals(List.of("10.213.7.2", "10.213.7.3"), n.endpoints().stream().map(Endpoint::ipAddress).toList());
        assertEquals(Map.of("k", "v"), n.labels());
        again.disconnect("ipam", c2);
        String c3 = container();
        assertEquals("10.213.7.4", again.connect(ConnectRequest.of("ipam", c3, "three")).ip(),
                "a released address is not handed out again at once");
        String c4 = container();
        assertEquals("10.213.7.3", again.connect(new ConnectRequest("ipam", c4, "four", null, List.of(), "10.213.7.3",
                List.of())).ip(), "a static address that is free");
        NetworkException used = assertThrows(NetworkException.class, () -> again.connect(new ConnectRequest("ipam",
                container(), "five", null, List.of(), "10.213.7.2", List.of())));
        assertTrue(used.getMessage().contains("already in use"), used.getMessage());
        assertEquals(List.of(c1), networks.attachments(c1).stream().map(a -> c1).toList());
        assertEquals("eth0", networks.attachments(c3).getFirst().iface());
    }

    @Test
    void badAndConflictingRequestsAreRefusedClearly() throws Exception {
        networks.create(new CreateRequest("first", "bridge", "10.214.0.0/24", null, false, null));
        NetworkException overlap = assertThrows(NetworkException.class,
                () -> networks.create(new CreateRequest("second", "bridge", "10.214.0.128/25", null, false, null)));
        assertEquals(NetworkException.Kind.CONFLICT, overlap.kind());
        assertTrue(overlap.getMessage().contains("overlaps network first (10.214.0.0/24)"), overlap.getMessage());

        try (RtNetlink rt = RtNetlink.open()) {
            var hostRoute = rt.routes().stream()
                    .filter(r -> r.table() == RtNetlink.RT_TABLE_MAIN && r.prefix() > 0 && r.prefix() <= 30)
                    .filter(r -> !r.destination().getHostAddress().startsWith("10.214."))
                    .findFirst();
            if (hostRoute.isPresent()) {
                String subnet = hostRoute.get().destination().getHostAddress() + "/" + hostRoute.get().prefix();
                NetworkException host = assertThrows(NetworkException.class,
                        () -> networks.create(new CreateRequest("third", "bridge", subnet, null, false, null)));
                assertTrue(host.getMessage().contains("overlaps the host's route to " + subnet), host.getMessage());
            }
        }
        assertEquals("network with name first already exists",
                assertThrows(NetworkException.class, () -> networks.create(CreateRequest.bridge("first"))).getMessage());
        assertTrue(assertThrows(NetworkException.class, () -> networks.create(new CreateRequest("x", "bridge",
                "10.215.0.1/24", null, false, null))).getMessage().contains("did you mean 10.215.0.0/24"));
        assertTrue(assertThrows(NetworkException.class, () -> networks.create(new CreateRequest("x", "bridge",
                "10.215.0.0/24", "10.216.0.1", false, null))).getMessage().contains("is not in subnet 10.215.0.0/24"));
        assertTrue(assertThrows(NetworkException.class, () -> networks.create(CreateRequest.bridge("../etc")))
                .getMessage().contains("invalid network name"));
        assertTrue(assertThrows(NetworkException.class, () -> networks.create(new CreateRequest("x", "overlay",
                null, null, false, null))).getMessage().contains("only bridge networks"));

        assertEquals(NetworkException.Kind.NOT_FOUND, assertThrows(NetworkException.class,
                () -> networks.connect(ConnectRequest.of("nosuch", container(), "a"))).kind());
        assertEquals(NetworkException.Kind.INVALID, assertThrows(NetworkException.class,
                () -> networks.connect(ConnectRequest.of("host", container(), "a"))).kind());
        assertEquals(NetworkException.Kind.INVALID, assertThrows(NetworkException.class,
                () -> networks.connect(ConnectRequest.of("first", "../x", "a"))).kind());
        String c = container();
        networks.connect(ConnectRequest.of("first", c, "a"));
        assertEquals(NetworkException.Kind.CONFLICT, assertThrows(NetworkException.class,
                () -> networks.connect(ConnectRequest.of("first", c, "a"))).kind());
        NetworkException busy = assertThrows(NetworkException.class, () -> networks.remove("first"));
        assertTrue(busy.getMessage().contains("has active endpoints: a"), busy.getMessage());
        assertTrue(assertThrows(NetworkException.class, () -> networks.remove("bridge")).getMessage()
                .contains("pre-defined"));
        assertEquals(new PortMapping("0.0.0.0", PortMapping.ANY_PORT, 80, "tcp"), PortMapping.parse("80"));
        assertEquals(new PortMapping("127.0.0.1", PortMapping.ANY_PORT, 80, "tcp"), PortMapping.parse("127.0.0.1::80"));
        assertThrows(IllegalArgumentException.class, () -> PortMapping.parse("a:b:c:d"));
        assertThrows(IllegalArgumentException.class, () -> PortMapping.parse("1:70000"));
        assertEquals(new PortMapping("0.0.0.0", 53, 5353, "udp"), PortMapping.parse("53:5353/udp"));
    }

    @Test
    void portRangesParseAsDockerReadsThem() {
        assertEquals(List.of(new PortMapping("0.0.0.0", PortMapping.ANY_PORT, 80, "tcp"),
                new PortMapping("0.0.0.0", PortMapping.ANY_PORT, 81, "tcp")), PortMapping.parseAll("80-81"));
        assertEquals(List.of(new PortMapping("127.0.0.1", 8000, 80, "udp"), new PortMapping("127.0.0.1", 8001, 81, "udp")),
                PortMapping.parseAll("127.0.0.1:8000-8001:80-81/udp"));
        PortMapping range = PortMapping.parse("8000-8010:80");
        assertEquals(new PortMapping("0.0.0.0", 8000, 80, "tcp", 8010), range);
        assertTrue(range.isRange());
        assertEquals("0.0.0.0:8000-8010->80/tcp", range.toString());
        assertFalse(range.withHostPort(8003).isRange());
        IllegalArgumentException uneven = assertThrows(IllegalArgumentException.class,
                () -> PortMapping.parseAll("8000-8001:80-82"));
        assertTrue(uneven.getMessage().contains("8000-8001") && uneven.getMessage().contains("80-82"), uneven.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PortMapping.parseAll("81-80")).getMessage()
                .contains("backwards"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PortMapping.parse("80-81")).getMessage()
                .contains("publishes 2 ports"));
        assertThrows(IllegalArgumentException.class, () -> PortMapping.parseAll("8000-:80"));
        assertThrows(IllegalArgumentException.class, () -> PortMapping.parseAll("65535-65536:80"));
    }

    @Test
    void aHostPortRangeGetsItsFirstPortNobodyHolds() throws Exception {
        int first;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            first = probe.getLocalPort();
        }
        // the range's first port published by another container, its second held by a host process
        String other = container();
        publish(Networks.DEFAULT_NETWORK, other, "other", "127.0.0.1:" + first + ":80");
        try (ServerSocket held = new ServerSocket(first + 1, 1, java.net.InetAddress.getLoopbackAddress())) {
            int expected = first + 2;
            while (!bindable(expected)) { // another process of this host may hold it
                expected++;
            }
            String c = container();
            publish(Networks.DEFAULT_NETWORK, c, "ranged", "127.0.0.1:" + first + "-" + (expected + 3) + ":80");
            assertEquals(List.of(new PortMapping("127.0.0.1", expected, 80, "tcp")), networks.attachments(c).getFirst().ports());
            NetworkException full = assertThrows(NetworkException.class, () -> publish(Networks.DEFAULT_NETWORK,
                    container(), "full", "127.0.0.1:" + first + "-" + (first + 1) + ":80"));
            assertEquals(NetworkException.Kind.CONFLICT, full.kind());
            assertTrue(full.getMessage().contains("no port of " + first + "-" + (first + 1) + " is free"), full.getMessage());
        }
    }

    @Test
    void nothingIsLeftAfterReleaseAndRemove() throws Exception {
        Network n = networks.create(CreateRequest.bridge("gone"));
        String c1 = container();
        String c2 = container();
        Attachment a1 = publish("gone", c1, "x", "127.0.0.1:18099:80");
        networks.connect(ConnectRequest.of("gone", c2, "y"));
        Path shared = networks.netnsOf(c1).orElseThrow();
        assertEquals(a1.netnsPath(), shared, "container:NAME joins this path");
        String none = container();
        Path sandbox = networks.sandbox(none);
        assertTrue(NetNamespace.isPinned(sandbox));
        assertTrue(ipLink().contains(n.bridge()));

        networks.release(c1);
        networks.release(c2);
        networks.release(none);
        networks.release(c2); // again: nothing to do
        assertTrue(networks.inspect("gone").endpoints().isEmpty());
        assertEquals(List.of("gone"), networks.prune());
        String links = ipLink();
        assertFalse(links.contains(n.bridge()), links);
        assertFalse(links.contains(Networks.vethName(c1, n.id())), links);
        assertFalse(links.contains(Networks.vethName(c2, n.id())), links);
        try (var s = Files.list(config.netnsDir())) {
            assertEquals(List.of(), s.toList());
        }
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(config.netnsDir().toString()));
        assertFalse(run("nft", "list", "tables").contains(config.nftTable()), "the table goes with the last bridge");
        assertFalse(Files.exists(networks.hostsPath(c1)));
    }

    @Test
    void reconcileAfterARebootRestoresBridgesAndReleasesLostEndpoints() throws Exception {
        Network n = networks.create(new CreateRequest("boot", "bridge", "10.217.3.0/24", null, false, null));
        String kept = container();
        String lost = container();
        Attachment k = networks.connect(ConnectRequest.of("boot", kept, "kept"));
        publish("boot", lost, "lost", "127.0.0.1:18098:80");
        // what a reboot does: /run emptied (the namespace and its veth gone), bridges and rules gone
        NetNamespace.remove(networks.netnsOf(lost).orElseThrow());
        try (RtNetlink rt = RtNetlink.open()) {
            rt.deleteLink(n.bridge());
        }
        new Nftables(config.nftTable()).delete();

        assertEquals(List.of(lost), Networks.open(config).reconcile());
        assertEquals(List.of("kept"), networks.inspect("boot").endpoints().stream().map(Endpoint::containerName).toList());
        try (RtNetlink rt = RtNetlink.open()) {
            assertTrue(rt.link(n.bridge()).orElseThrow().up(), "the bridge is back, up");
        }
        String rules = nftList();
        assertTrue(rules.contains("ip saddr 10.217.3.0/24"), rules);
        assertFalse(rules.contains("18098"), rules);
        assertFalse(Files.readString(k.hostsPath()).contains("lost"));
    }

    @Test
    void concurrentConnectsGetDistinctAddresses() throws Exception {
        networks.create(new CreateRequest("busy", "bridge", "10.218.0.0/28", null, false, null));
        List<String> ids = List.of(container(), container(), container(), container());
        List<java.util.concurrent.Future<Attachment>> got = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (String id : ids) {
                // a fresh instance per caller: the lock is the store's, not the object's
                got.add(pool.submit(() -> Networks.open(config).connect(ConnectRequest.of("busy", id, "n" + id.substring(0, 6)))));
            }
        }
        java.util.Set<String> ips = new java.util.HashSet<>();
        for (var f : got) {
            ips.add(f.get().ip());
        }
        assertEquals(4, ips.size(), "distinct addresses: " + ips);
        assertEquals(4, networks.inspect("busy").endpoints().size());
    }

    @Test
    void networkModesParse() {
        assertEquals(new NetworkMode.Attach("bridge"), NetworkMode.parse(""));
        assertEquals(new NetworkMode.Attach("bridge"), NetworkMode.parse("default"));
        assertEquals(new NetworkMode.Host(), NetworkMode.parse("host"));
        assertEquals(new NetworkMode.None(), NetworkMode.parse("none"));
        assertEquals(new NetworkMode.Container("web"), NetworkMode.parse("container:web"));
        assertEquals(new NetworkMode.Attach("mynet"), NetworkMode.parse("mynet"));
        assertThrows(IllegalArgumentException.class, () -> NetworkMode.parse("container:"));
    }

    /** Runs {@code sh -c command} in the container's network namespace with its hosts file on /etc/hosts. */
    private static int inContainer(Attachment a, String command) throws Exception {
        Process p = new ProcessBuilder("nsenter", "--net=" + a.netnsPath(), "unshare", "--mount", "sh", "-c",
                "mount --bind " + a.hostsPath() + " /etc/hosts && " + command).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), command + " timed out");
        if (p.exitValue() != 0) {
            System.err.println(command + ": " + out);
        }
        return p.exitValue();
    }

    private String nftList() throws Exception {
        return run("nft", "list", "table", "ip", config.nftTable());
    }

    private static String ipLink() throws Exception {
        return run("ip", "-o", "link", "show");
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        p.waitFor(20, TimeUnit.SECONDS);
        return out;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private static String hex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
