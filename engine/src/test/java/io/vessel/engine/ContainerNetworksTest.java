package io.vessel.engine;

import io.vessel.engine.container.RunOptions;
import io.vessel.engine.network.CreateRequest;
import io.vessel.engine.network.Network;
import io.vessel.engine.network.NetworksConfig;
import io.vessel.image.registry.ProgressListener;
import io.vessel.linux.FileTrees;
import io.vessel.linux.NetNamespace;
import io.vessel.linux.RtNetlink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Containers on networks through the engine, the real runtime and the built-in busybox image:
 * names resolved on a user network, a published port reached from the host, {@code none},
 * {@code host} and {@code container:NAME} seen from inside, and nothing left after removal. The
 * engine has a bridge and nftables table of its own, deleted at the end.
 */
@Timeout(120)
class ContainerNetworksTest {
    static Path root;
    static Engine engine;
    static Containers containers;
    static NetworksConfig netConfig;

    @BeforeAll
    static void open() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "containers and bridges need root; running as " + System.getProperty("user.name"));
        String launcher = System.getProperty("vessel.launcher");
        Assumptions.assumeTrue(launcher != null && Files.isExecutable(Path.of(launcher)),
                "no vessel-launch: run 'make build' and pass -Dvessel.launcher (see the Makefile)");
        Assumptions.assumeTrue(onPath("nft"), "needs nft (scripts/install-deps.sh --test)");
        root = Files.createTempDirectory("vessel-cnet-");
        String tag = HexFormat.of().formatHex(SecureRandom.getSeed(3));
        netConfig = new NetworksConfig(root.resolve("root/networks"), root.resolve("run/netns"), "vc" + tag,
                "vessel_c" + tag, null);
        engine = Engine.open(new EngineConfig(root.resolve("root"), root.resolve("run"), root.resolve("creds.json"),
                List.of()), netConfig);
        containers = engine.containers();
    }

    @AfterEach
    void removeAll() throws Exception {
        for (Containers.Info i : containers.list()) {
            containers.remove(i.id(), true, true);
        }
        for (Network n : engine.networks().list()) {
            if (!n.predefined()) {
                engine.networks().remove(n.id());
            }
        }
    }

    @AfterAll
    static void close() throws Exception {
        if (root == null) {
            return;
        }
        try {
            for (Containers.Info i : containers.list()) {
                containers.remove(i.id(), true, true);
            }
            engine.networks().dismantle();
            try (RtNetlink rt = RtNetlink.open()) {
                assertTrue(rt.link(netConfig.defaultBridge()).isEmpty(), "the default bridge is gone");
            }
            assertFalse(nft("list", "tables").contains(netConfig.nftTable()), "the nftables table is gone");
        } finally {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                if (line.contains(root.toString())) {
                    io.vessel.linux.Mount.umount(line.split(" ")[4], io.vessel.linux.Mount.MNT_DETACH);
                }
            }
            FileTrees.remove(root);
        }
    }

    record Ran(int exit, String out) {
    }

    /** Creates, starts and waits for a container, returning its exit status and output. */
    static Ran run(String name, RunOptions o) throws Exception {
        String id = containers.create(new Containers.CreateRequest("busybox", name, o, Containers.Lifecycle.DEFAULT),
                ProgressListener.NONE).id();
        String out;
        try (Attachment a = containers.attach(id, false, true, true)) {
            containers.start(id);
            out = demux(a.output());
        }
        return new Ran(containers.await(id, Containers.WaitCondition.NOT_RUNNING), out);
    }

    static String started(String name, RunOptions o) throws Exception {
        String id = containers.create(new Containers.CreateRequest("busybox", name, o, Containers.Lifecycle.DEFAULT),
                ProgressListener.NONE).id();
        assertTrue(containers.start(id));
        return id;
    }

    static String demux(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        byte[] h = new byte[8];
        while (in.readNBytes(h, 0, 8) == 8) {
            int len = ((h[4] & 0xff) << 24) | ((h[5] & 0xff) << 16) | ((h[6] & 0xff) << 8) | (h[7] & 0xff);
            b.append(new String(in.readNBytes(len), StandardCharsets.UTF_8));
        }
        return b.toString();
    }

    @Test
    void containersOnAUserNetworkReachEachOtherByNameAndAlias() throws Exception {
        engine.networks().create(CreateRequest.bridge("cnet"));
        String a = started("alpha", RunOptions.builder().network("cnet").networkAlias("db").cmd("sleep", "60").build());
        Ran ping = run("beta", RunOptions.builder().network("cnet").hostname("bee").cmd("sh", "-c",
                "ping -c 1 -W 3 alpha && ping -c 1 -W 3 db && cat /etc/hosts && hostname && ls /sys/class/net").build());
        assertEquals(0, ping.exit(), ping.out());
        String ip = containers.networkAttachments(a).getFirst().ip();
        assertTrue(ping.out().contains(ip + "\talpha db\n"), ping.out());
        assertTrue(ping.out().contains("\tbee\n") && ping.out().contains("bee\n"), "its own host name: " + ping.out());
        assertTrue(ping.out().contains("eth0"), ping.out());
        assertEquals("cnet", containers.networkMode(a));

        containers.rename(a, "omega");
        Ran renamed = run(null, RunOptions.builder().network("cnet").cmd("ping", "-c", "1", "-W", "3", "omega").build());
        assertEquals(0, renamed.exit(), "alpha renamed is resolved as omega: " + renamed.out());

        containers.remove("beta", true, true);
        String hosts = Files.readString(engine.networks().hostsPath(a));
        assertFalse(hosts.contains("bee"), "beta left alpha's hosts file: " + hosts);
    }

    @Test
    void aPublishedPortReachesTheContainersServer() throws Exception {
        int port = freePort();
        String id = started("web", RunOptions.builder().publish("127.0.0.1:" + port + ":80").cmd("sh", "-c",
                "mkdir -p /www && echo hello from vessel > /www/index.html && exec httpd -f -p 80 -h /www").build());
        String body = get(port);
        assertEquals("hello from vessel\n", body);
        assertEquals(port, containers.networkAttachments(id).getFirst().ports().getFirst().hostPort());
        assertTrue(nft("list", "table", "ip", netConfig.nftTable()).contains("dport " + port), "the DNAT rule");

        // no host port: a free one is chosen, and kept in the container's record
        String any = started("anyport", RunOptions.builder().publish("127.0.0.1::80").cmd("sh", "-c",
                "mkdir -p /www && echo any > /www/index.html && exec httpd -f -p 80 -h /www").build());
        int chosen = containers.networkAttachments(any).getFirst().ports().getFirst().hostPort();
        assertNotEquals(0, chosen);
        assertEquals("any\n", get(chosen));

        containers.remove(id, true, true);
        assertFalse(nft("list", "table", "ip", netConfig.nftTable()).contains("dport " + port), "the rule went");
        try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
            assertEquals(port, s.getLocalPort(), "the port is free again");
        }
    }

    /** GET /index.html on 127.0.0.1:port, retried until the server inside answers (20 s at most). */
    static String get(int port) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/index.html"))
                .timeout(Duration.ofSeconds(3)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try {
                HttpResponse<String> r = client.send(get, HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                return r.body();
            } catch (IOException notYet) {
                assertTrue(System.nanoTime() < deadline, "httpd never answered on 127.0.0.1:" + port + ": " + notYet);
                Thread.sleep(100);
            }
        }
    }

    @Test
    void noneHostAndContainerModesSeenFromInside() throws Exception {
        Ran none = run(null, RunOptions.builder().network("none").cmd("ls", "/sys/class/net").build());
        assertEquals(0, none.exit(), none.out());
        assertEquals("lo\n", none.out(), "--network none has loopback only");

        Ran host = run(null, RunOptions.builder().network("host").cmd("sh", "-c", "hostname; ls /sys/class/net").build());
        assertEquals(0, host.exit(), host.out());
        String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        List<String> lines = host.out().lines().toList();
        assertEquals(hostname, lines.getFirst());
        try (var s = Files.list(Path.of("/sys/class/net"))) {
            assertEquals(s.map(p -> p.getFileName().toString()).sorted().toList(),
                    lines.subList(1, lines.size()).stream().sorted().toList(), "the host's interfaces");
        }

        String a = started("first", RunOptions.builder().hostname("shared").cmd("sleep", "60").build());
        Ran joined = run(null, RunOptions.builder().network("container:first").cmd("sh", "-c",
                "hostname; ls /sys/class/net; cat /etc/hosts").build());
        assertEquals(0, joined.exit(), joined.out());
        String ip = containers.networkAttachments(a).getFirst().ip();
        assertTrue(joined.out().startsWith("shared\n"), joined.out());
        assertTrue(joined.out().contains("eth0\n"), joined.out());
        assertTrue(joined.out().contains(ip + "\tshared\n"), "first's hosts file: " + joined.out());
        assertTrue(containers.networkMode(containers.list().getFirst().id()).startsWith("container:" + a));
    }

    @Test
    void nothingIsLeftAfterRemoval() throws Exception {
        engine.networks().create(CreateRequest.bridge("gone"));
        String a = started("a1", RunOptions.builder().network("gone").cmd("sleep", "60").build());
        String n = started("n1", RunOptions.builder().network("none").cmd("sleep", "60").build());
        Path ns = engine.networks().netnsOf(a).orElseThrow();
        assertTrue(NetNamespace.isPinned(ns));
        String veth = vethOf(a);
        containers.remove(a, true, true);
        containers.remove(n, true, true);
        assertFalse(Files.exists(ns), "the namespace pin went");
        try (var s = Files.list(netConfig.netnsDir())) {
            assertEquals(List.of(), s.toList(), "no pinned namespace left");
        }
        try (RtNetlink rt = RtNetlink.open()) {
            assertTrue(rt.link(veth).isEmpty(), "the veth went");
        }
        assertFalse(Files.exists(engine.networks().hostsPath(a).getParent()), "the hosts files went");
        for (Network net : engine.networks().list()) {
            assertEquals(List.of(), net.endpoints(), net.name() + " has no endpoint left");
        }
    }

    @Test
    void aStartAfterItsNetworkingWasReleasedConnectsAgainAndOrphansAreReleased() throws Exception {
        engine.networks().create(CreateRequest.bridge("again"));
        String a = started("keeper", RunOptions.builder().network("again").cmd("sleep", "60").build());
        String b = containers.create(new Containers.CreateRequest("busybox", "pinger", RunOptions.builder()
                .network("again").cmd("ping", "-c", "1", "-W", "3", "keeper").build(), Containers.Lifecycle.DEFAULT),
                ProgressListener.NONE).id();
        // as after a reboot: the namespace and endpoint gone (reconcile releases endpoints without a namespace)
        engine.networks().release(b);
        assertTrue(containers.networkAttachments(b).isEmpty());
        assertTrue(containers.start(b));
        assertEquals(0, containers.await(b, Containers.WaitCondition.NOT_RUNNING), "reconnected, it resolves keeper");
        assertEquals(1, containers.networkAttachments(b).size());

        // networking held for a container that no longer exists (a remove cut short) goes at daemon start
        String orphan = HexFormat.of().formatHex(SecureRandom.getSeed(32));
        engine.networks().connect(io.vessel.engine.network.ConnectRequest.of("again", orphan, "ghost"));
        assertTrue(containers.reconcileNetworks().contains(orphan));
        assertTrue(engine.networks().netnsOf(orphan).isEmpty());
        assertFalse(Files.readString(engine.networks().hostsPath(a)).contains("ghost"));
    }

    @Test
    void badNetworkOptionsAreRefusedAndLeaveNothing() throws Exception {
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> started("xx", RunOptions.builder().network("nosuchnet").cmd("true").build()));
        assertTrue(e.getMessage().contains("network nosuchnet not found"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> started("yy", RunOptions.builder().networkAlias("db").cmd("true").build()));
        assertTrue(e.getMessage().contains("user defined networks"), e.getMessage());
        assertEquals(List.of(), containers.list(), "no container record left");
        try (var s = Files.list(netConfig.netnsDir())) {
            assertEquals(List.of(), s.toList(), "no pinned namespace left");
        }
    }

    private static String vethOf(String containerId) throws IOException {
        for (Network n : engine.networks().list()) {
            for (var e : n.endpoints()) {
                if (e.containerId().equals(containerId)) {
                    return e.hostVeth();
                }
            }
        }
        throw new AssertionError("no endpoint for " + containerId);
    }

    static int freePort() throws IOException {
        SecureRandom r = new SecureRandom();
        for (int i = 0; i < 50; i++) {
            int p = 20000 + r.nextInt(20000);
            try (ServerSocket s = new ServerSocket(p, 1, java.net.InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // another
            }
        }
        throw new IOException("no free port found in 20000-40000");
    }

    static String nft(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("nft"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }
}
