package io.vessel.engine.api.docker;

import io.vessel.engine.api.docker.TestDaemon.Result;
import io.vessel.engine.network.NetworksConfig;
import io.vessel.linux.RtNetlink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Networking end to end through the real docker CLI against a daemon in this JVM: {@code network}
 * verbs, two containers on a user network pinging each other by name, a published port reached
 * from the host, and {@code --network none|host|container:NAME}. The daemon's engine has a bridge
 * and nftables table of its own, deleted at the end with everything it made.
 */
class DockerNetworkCliTest extends DaemonCliTest {
    private NetworksConfig netConfig;
    private final SecureRandom random = new SecureRandom();

    @Override
    TestDaemon startDaemon() throws IOException {
        String tag = HexFormat.of().formatHex(random.generateSeed(3));
        return TestDaemon.start("vessel-dnet-", dir -> netConfig = new NetworksConfig(dir.resolve("root/networks"),
                dir.resolve("run/netns"), "vd" + tag, "vessel_d" + tag, null), true);
    }

    @AfterEach
    void removeContainersAndNetworks() throws Exception {
        removeAllContainers();
        docker("network", "prune", "-f").ok();
    }

    /** Runs before the daemon is closed ({@link DaemonCliTest}'s own {@code @AfterAll} comes last). */
    @AfterAll
    void stoppingTheDaemonRemovesItsNetworks() throws Exception {
        if (d == null) {
            return;
        }
        d.stopDaemon();
        try (RtNetlink rt = RtNetlink.open()) {
            assertTrue(rt.link(netConfig.defaultBridge()).isEmpty(), "the default bridge is gone");
        }
        try (var s = Files.list(netConfig.netnsDir())) {
            assertEquals(List.of(), s.toList(), "no pinned namespace is left");
        }
    }

    @Test
    void networkVerbs() throws Exception {
        String subnet = "10." + (100 + random.nextInt(100)) + "." + random.nextInt(250) + ".0/24";
        String gateway = subnet.replace(".0/24", ".254");
        String id = docker("network", "create", "--subnet", subnet, "--gateway", gateway, "--label", "team=a", "tnet")
                .ok().out().trim();
        assertEquals(64, id.length(), id);
        assertTrue(docker("network", "ls", "--format", "{{.Name}} {{.Driver}}").ok().out().lines().toList()
                .containsAll(List.of("bridge bridge", "host host", "none null", "tnet bridge")));
        assertEquals("tnet\n", docker("network", "ls", "--format", "{{.Name}}", "--filter", "label=team=a").ok().out());
        assertEquals("tnet\n", docker("network", "ls", "--format", "{{.Name}}", "--filter", "id=" + id.substring(0, 10))
                .ok().out());
        assertEquals(subnet + " " + gateway + " local map[team:a]\n", docker("network", "inspect", "-f",
                "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Scope}} {{.Labels}}", "tnet").ok().out());
        assertTrue(docker("network", "create", "tnet").failed().err().contains("network with name tnet already exists"));
        assertTrue(docker("network", "rm", "nosuch").failed().err().contains("network nosuch not found"));
        assertTrue(docker("network", "rm", "bridge").failed().err().contains("pre-defined network"));
        assertTrue(docker("network", "create", "--subnet", "10.1.2.3/33", "bad").failed().err().contains("33"));
        assertTrue(docker("network", "create", "../evil").failed().err().contains("invalid network name"));
        assertTrue(docker("network", "create", "--ipv6", "six").failed().err().contains("IPv6"));
        assertFalse(docker("network", "ls", "--format", "{{.Name}}").ok().out().contains("evil"));
        Result prune = docker("network", "prune", "-f").ok();
        assertTrue(prune.out().contains("tnet"), prune.out());
        assertFalse(docker("network", "ls", "--format", "{{.Name}}").ok().out().contains("tnet"));
    }

    @Test
    void twoContainersOnANetworkPingEachOtherByName() throws Exception {
        docker("network", "create", "pnet").ok();
        docker("run", "-d", "--network", "pnet", "--name", "alpha", "busybox", "sleep", "120").ok();
        docker("run", "-d", "--network", "pnet", "--network-alias", "bee", "--name", "beta", "busybox", "sleep", "120").ok();
        Result ping = docker("exec", "alpha", "ping", "-c", "1", "-W", "3", "beta");
        assertEquals(0, ping.exit(), ping.out() + ping.err());
        docker("exec", "beta", "ping", "-c", "1", "-W", "3", "alpha").ok();
        docker("exec", "alpha", "ping", "-c", "1", "-W", "3", "bee").ok();
        String ip = docker("inspect", "-f", "{{.NetworkSettings.Networks.pnet.IPAddress}}", "beta").ok().out().trim();
        assertTrue(ip.matches("\\d+\\.\\d+\\.\\d+\\.\\d+"), ip);
        assertEquals("[bee]\n", docker("inspect", "-f", "{{.NetworkSettings.Networks.pnet.Aliases}}", "beta").ok().out());
        assertEquals("2\n", docker("network", "inspect", "-f", "{{len .Containers}}", "pnet").ok().out());
        assertTrue(docker("network", "rm", "pnet").failed().err().contains("active endpoints"));

        // connect and disconnect while running: alpha joins the default bridge too
        docker("network", "connect", "bridge", "alpha").ok();
        assertTrue(docker("exec", "alpha", "ls", "/sys/class/net").ok().out().contains("eth1"));
        assertFalse(docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "alpha").ok().out().isBlank(),
                "the default bridge's legacy address field");
        docker("network", "disconnect", "bridge", "alpha").ok();
        assertFalse(docker("exec", "alpha", "ls", "/sys/class/net").ok().out().contains("eth1"));

        docker("rm", "-f", "alpha", "beta").ok();
        docker("network", "rm", "pnet").ok();
    }

    @Test
    void aPublishedPortIsReachableFromTheHost() throws Exception {
        int port = freePort();
        String id = docker("run", "-d", "-p", "127.0.0.1:" + port + ":80", "busybox", "sh", "-c",
                "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www").ok().out().trim();
        assertEquals("80/tcp -> 127.0.0.1:" + port + "\n", docker("port", id).ok().out());
        assertEquals("127.0.0.1:" + port + "->80/tcp\n", docker("ps", "--format", "{{.Ports}}").ok().out());
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(3)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try {
                HttpResponse<String> r = client.send(get, HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                assertEquals("hello\n", r.body());
                break;
            } catch (IOException notYet) {
                assertTrue(System.nanoTime() < deadline, "no answer on 127.0.0.1:" + port + ": " + notYet);
                Thread.sleep(100);
            }
        }
        Result clash = docker("run", "-d", "-p", "127.0.0.1:" + port + ":80", "busybox", "true").failed();
        assertTrue(clash.err().contains("port is already allocated"), clash.err());
    }

    @Test
    void portRangesAsTheDockerCliSendsThem() throws Exception {
        int port = freePort();
        // two ranges: the CLI sends one binding per pair; a host range for one port: the daemon chooses in it
        String pairs = docker("run", "-d", "-p", "127.0.0.1:" + port + "-" + (port + 1) + ":80-81", "busybox",
                "sleep", "1000").ok().out().trim();
        assertEquals("80/tcp -> 127.0.0.1:" + port + "\n81/tcp -> 127.0.0.1:" + (port + 1) + "\n",
                docker("port", pairs).ok().out());
        String chosen = docker("run", "-d", "-p", "127.0.0.1:" + port + "-" + (port + 9) + ":90", "busybox",
                "sleep", "1000").ok().out().trim();
        String mapped = docker("port", chosen, "90").ok().out().strip();
        int got = Integer.parseInt(mapped.substring(mapped.lastIndexOf(':') + 1));
        assertTrue(got >= port + 2 && got <= port + 9, "90/tcp went to " + mapped + ", past the two ports taken");
        assertTrue(docker("inspect", "-f", "{{json .HostConfig.PortBindings}}", chosen).ok().out()
                .contains("\"HostPort\":\"" + port + "-" + (port + 9) + "\""), "the request keeps its range");
        Result uneven = docker("run", "-d", "-p", port + "-" + (port + 1) + ":80-82", "busybox", "true").failed();
        assertTrue(uneven.err().toLowerCase(java.util.Locale.ROOT).contains("range"), uneven.err());
    }

    @Test
    void noneHostAndContainerModes() throws Exception {
        assertEquals("lo\n", docker("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net").ok().out());
        String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        assertEquals(hostname + "\n", docker("run", "--rm", "--network", "host", "busybox", "hostname").ok().out());
        docker("run", "-d", "--name", "owner", "--hostname", "owner-host", "busybox", "sleep", "120").ok();
        Result joined = docker("run", "--rm", "--network", "container:owner", "busybox", "sh", "-c",
                "hostname; ls /sys/class/net").ok();
        assertEquals("owner-host\neth0\nlo\n", joined.out());
        assertEquals("none\n", docker("inspect", "-f", "{{.HostConfig.NetworkMode}}",
                docker("create", "--network", "none", "busybox", "true").ok().out().trim()).ok().out());
    }

    @Test
    void bodiesAreReadAsDockerdsGoDecoderReadsThem() throws Exception {
        // docker-java (Testcontainers) sends EnableIPv6 a second time as "enableIPv6": names match ignoring case
        io.vessel.engine.api.RawClient.Response v6 = createNetwork(
                "{\"Name\": \"gov6\", \"EnableIPv6\": null, \"enableIPv6\": true}");
        assertEquals(400, v6.status(), v6.body());
        assertTrue(v6.body().contains("IPv6 is not supported"), v6.body());
        assertEquals("", docker("network", "ls", "-q", "--filter", "name=gov6").ok().out(), "nothing was made");
        // unknown members are ignored; lower-case known ones count
        io.vessel.engine.api.RawClient.Response ok = createNetwork(
                "{\"name\": \"golike\", \"enableIPv6\": false, \"NoSuchField\": {\"x\": 1}, \"labels\": {\"k\": \"v\"}}");
        assertEquals(201, ok.status(), ok.body());
        assertEquals("golike\n", docker("network", "ls", "--format", "{{.Name}}", "--filter", "label=k=v").ok().out());
    }

    private io.vessel.engine.api.RawClient.Response createNetwork(String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return io.vessel.engine.api.RawClient.exchange(socket, "POST /v1.44/networks/create HTTP/1.1\r\nHost: d\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\nConnection: close\r\n\r\n" + body);
    }

    private int freePort() throws IOException {
        for (int i = 0; i < 50; i++) {
            int p = 20000 + random.nextInt(20000);
            try (ServerSocket s = new ServerSocket(p, 1, java.net.InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // another
            }
        }
        throw new IOException("no free port found in 20000-40000");
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
