package io.vessel.linux;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** rtnetlink and network namespaces against the real kernel, entirely inside namespaces the test makes. */
class RtNetlinkTest {
    private Path dir;
    private Path a;
    private Path b;

    @BeforeEach
    void namespaces() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "network namespaces need root");
        dir = java.nio.file.Files.createTempDirectory("vessel-netns");
        a = dir.resolve("a");
        b = dir.resolve("b");
        NetNamespace.create(a);
        NetNamespace.create(b);
    }

    @AfterEach
    void cleanUp() throws IOException {
        if (dir != null) {
            NetNamespace.remove(a);
            NetNamespace.remove(b);
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    private static Inet4Address ip(String s) throws IOException {
        return (Inet4Address) InetAddress.getByName(s);
    }

    @Test
    void bridgeVethAddressesAndRoutesInsideNamespaces() throws Exception {
        assertTrue(NetNamespace.isPinned(a));
        try (RtNetlink na = RtNetlink.openIn(a); RtNetlink nb = RtNetlink.openIn(b);
             Fd bFd = Files.open(b.toString(), Files.O_RDONLY | Files.O_CLOEXEC, 0)) {
            assertEquals(List.of("lo"), na.links().stream().map(RtNetlink.Link::name).toList(),
                    "a new namespace has only loopback");
            na.createBridge("tbr0");
            NetlinkException dup = assertThrows(NetlinkException.class, () -> na.createBridge("tbr0"));
            assertEquals(Errno.EEXIST, dup.errno());
            assertTrue(dup.getMessage().contains("bridge \"tbr0\""), dup.getMessage());

            byte[] mac = {0x02, 0x42, 10, 77, 0, 2};
            na.createVeth("tvh0", "eth0", bFd, mac);
            assertTrue(na.link("eth0").isEmpty(), "the peer was created in the other namespace");
            RtNetlink.Link eth0 = nb.link("eth0").orElseThrow();
            assertEquals("02:42:0a:4d:00:02", eth0.mac());
            assertEquals("veth", eth0.kind());

            na.setMaster("tvh0", "tbr0");
            assertEquals(na.index("tbr0"), na.link("tvh0").orElseThrow().master());
            na.addAddress("tbr0", ip("10.77.0.1"), 24);
            na.setUp("tbr0", true);
            na.setUp("tvh0", true);
            na.setMtu("tvh0", 1400);
            assertEquals(1400, na.link("tvh0").orElseThrow().mtu());

            nb.setUp("lo", true);
            nb.addAddress("eth0", ip("10.77.0.2"), 24);
            nb.setUp("eth0", true);
            nb.addRoute(ip("0.0.0.0"), 0, ip("10.77.0.1"), "eth0");
            assertTrue(nb.addresses().contains(new RtNetlink.Address(nb.index("eth0"), ip("10.77.0.2"), 24)));
            assertTrue(nb.routes().stream().anyMatch(r -> r.prefix() == 0
                    && r.gateway().equals(ipUnchecked("10.77.0.1"))), "default route via the bridge");
            assertTrue(na.routes().stream().anyMatch(r -> r.prefix() == 24
                    && r.destination().equals(ipUnchecked("10.77.0.0"))), "the bridge's connected route");

            // the other end answers: a TCP connection from b to a server in a, through the bridge
            try (java.net.ServerSocket server = NetNamespace.call(a,
                    () -> new java.net.ServerSocket(7007, 1, ip("10.77.0.1")))) {
                Thread accept = Thread.ofPlatform().start(() -> {
                    try (java.net.Socket s = server.accept()) {
                        s.getOutputStream().write('k');
                    } catch (IOException ignored) {
                    }
                });
                int got = NetNamespace.call(b, () -> {
                    try (java.net.Socket s = new java.net.Socket()) {
                        s.connect(new java.net.InetSocketAddress("10.77.0.1", 7007), 5000);
                        return s.getInputStream().read();
                    }
                });
                accept.join();
                assertEquals('k', got);
            }

            NetlinkException noLink = assertThrows(NetlinkException.class, () -> nb.deleteLink("nosuch0"));
            assertTrue(noLink.getMessage().contains("RTM_DELLINK \"nosuch0\""), noLink.getMessage());
            assertThrows(IllegalArgumentException.class, () -> na.createBridge("a-name-much-too-long"));

            na.deleteLink("tvh0");
            assertTrue(nb.link("eth0").isEmpty(), "deleting one end of a veth deletes the other");
            assertTrue(na.deleteLinkIfExists("tbr0"));
            assertFalse(na.deleteLinkIfExists("tbr0"));
        }
    }

    @Test
    void sysctlsBelongToTheThreadsNamespace() throws Exception {
        String inside = NetNamespace.call(a, () -> {
            Sysctl.write("net/ipv4/conf/lo/route_localnet", "1");
            return Sysctl.read("net/ipv4/conf/lo/route_localnet");
        });
        assertEquals("1", inside);
        assertEquals("0", NetNamespace.call(b, () -> Sysctl.read("net/ipv4/conf/lo/route_localnet")));
        assertThrows(IllegalArgumentException.class, () -> Sysctl.read("../etc/passwd"));
    }

    @Test
    void removeUnpinsAndDeletes() throws Exception {
        NetNamespace.remove(a);
        assertFalse(NetNamespace.isPinned(a));
        assertFalse(java.nio.file.Files.exists(a));
        NetNamespace.remove(a); // twice is fine
        NetNamespace.create(a);
        assertThrows(ErrnoException.class, () -> NetNamespace.create(a), "the pin exists already");
        assertTrue(NetNamespace.isPinned(a));
    }

    private static Inet4Address ipUnchecked(String s) {
        try {
            return ip(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
