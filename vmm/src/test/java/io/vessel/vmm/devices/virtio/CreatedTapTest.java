package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.DeviceConfig;
import io.vessel.vmm.HostAddress;
import io.vessel.vmm.TestGuests;
import io.vessel.vmm.Vm;
import io.vessel.vmm.VmConfig;
import io.vessel.vmm.VmExit;
import io.vessel.vmm.boot.BootSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Taps the VM creates itself ({@link DeviceConfig.Net#created}) in a network namespace the test
 * makes: the test guest's virtio-net driver pings and talks TCP with a peer in that namespace
 * through the tap; the tap is gone after the VM, after a VM that failed to start, and after the
 * VMM process was killed with SIGKILL; bad names and namespaces are clear errors that leave
 * nothing behind.
 */
class CreatedTapTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long MEMORY = 64L << 20;
    private static final String GUEST_MAC = "06:00:0a:4e:00:02";
    /** 10.78.0.0/24: the tap's host end .1 (given by the VM), the guest .2 (hex on the guest's command line). */
    private static final String HOST_CIDR = "10.78.0.1/24", GUEST_IP_HEX = "0a4e0002", HOST_IP_HEX = "0a4e0001";
    private static final int TCP_PORT = 7778;

    @TempDir
    Path tmp;

    private static void assumeNetns() {
        TestGuests.assumeKvm();
        String missing = TestNetns.missingCapability();
        assumeTrue(missing == null, missing);
    }

    private static VmConfig config(String cmdline, List<DeviceConfig> devices, ByteArrayOutputStream console)
            throws Exception {
        return VmConfig.of(new BootSource(TestGuests.elf(), null, "vessel-test " + cmdline, true, 0), 1, MEMORY, console)
                .withDevices(devices);
    }

    private static boolean hasLink(TestNetns ns, String name) throws IOException {
        return ns.ip("-br", "link", "show").lines().anyMatch(l -> l.split("\\s+")[0].equals(name));
    }

    @Test
    void guestTalksToAPeerInTheNamespaceThroughATapTheVmCreated() throws Exception {
        assumeNetns();
        try (TestNetns ns = TestNetns.create()) {
            CompletableFuture<String> heard = new CompletableFuture<>();
            // bound to any address: the tap and its address exist only once the VM is made
            try (ServerSocketChannel server = ns.listen(new InetSocketAddress(TCP_PORT))) {
                Thread peer = Thread.ofPlatform().name("test-tcp-peer").start(() -> {
                    try (SocketChannel c = server.accept()) {
                        String line = readLine(c);
                        heard.complete(line);
                        c.write(StandardCharsets.US_ASCII.encode(line.toUpperCase(Locale.ROOT) + "\n"));
                    } catch (IOException e) {
                        heard.completeExceptionally(e);
                    }
                });
                ByteArrayOutputStream console = new ByteArrayOutputStream();
                VmExit exit;
                try (Vm vm = Vm.create(config("net_ip=" + GUEST_IP_HEX + " net_peer=" + HOST_IP_HEX + " net_tcp="
                        + Integer.toHexString(TCP_PORT), List.of(DeviceConfig.Net.created("vmtap0", ns.path, GUEST_MAC,
                        HostAddress.parse(HOST_CIDR))), console))) {
                    String link = ns.ip("-br", "addr", "show", "vmtap0");
                    assertTrue(link.contains(HOST_CIDR), "the tap has the host address: " + link);
                    assertFalse(ns.ip("link", "show", "vmtap0").contains("state DOWN"), "the tap is up");
                    String details = ns.ip("-d", "link", "show", "vmtap0");
                    assertTrue(details.contains("persist off"), "the tap is not persistent: " + details);
                    vm.start();
                    exit = vm.awaitExit(TIMEOUT);
                } finally {
                    server.close(); // unblocks the peer if the guest never connected
                    peer.join(TimeUnit.SECONDS.toMillis(10));
                }
                String c = console.toString(StandardCharsets.UTF_8);
                assertNotNull(exit, "the guest did not finish within " + TIMEOUT + "; console:\n" + c);
                assertTrue(c.contains("ok   the host answered the guest's ARP request"), c);
                assertTrue(c.contains("ok   the host answered the guest's ICMP echo request (checksums, id, sequence, payload)"), c);
                assertTrue(c.contains("ok   the host's TCP peer answered the guest's line in capitals and closed"), c);
                assertFalse(c.contains("FAIL"), c);
                assertEquals(new VmExit.GuestExit(0), exit, c);
                assertEquals("hello over tcp", heard.get(10, TimeUnit.SECONDS));
            }
            assertFalse(hasLink(ns, "vmtap0"), "the VM's tap outlived it");
        }
    }

    @Test
    void badTapsAndNamespacesAreClearErrorsThatLeaveNothing() throws Exception {
        assumeNetns();
        List<String> fds = tunFds();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DeviceConfig.Net("t0", null, null, GUEST_MAC, null, null, false, HostAddress.parse(HOST_CIDR)));
        assertTrue(e.getMessage().contains("can only be given to a tap Vessel creates"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HostAddress.parse("10.78.0.1"));
        assertTrue(e.getMessage().contains("not an IPv4 address with a prefix length"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HostAddress.parse("10.78.0.300/24"));
        assertTrue(e.getMessage().contains("300 is not an address byte"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HostAddress.parse("10.78.0.1/33"));
        assertTrue(e.getMessage().contains("prefix length 33"), e.getMessage());

        Path noNetns = tmp.resolve("no-such-netns");
        e = assertThrows(IllegalArgumentException.class, () -> Vm.create(config("", List.of(
                DeviceConfig.Net.created("vmtap1", noNetns, GUEST_MAC, null)), new ByteArrayOutputStream())).close());
        assertEquals("network namespace " + noNetns + " does not exist", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Vm.create(config("", List.of(
                DeviceConfig.Net.named("vmtap1", noNetns, GUEST_MAC)), new ByteArrayOutputStream())).close());
        assertEquals("network namespace " + noNetns + " does not exist", e.getMessage(), "also for an existing tap's namespace");

        try (TestNetns ns = TestNetns.create()) {
            e = assertThrows(IllegalArgumentException.class, () -> Vm.create(config("", List.of(
                    DeviceConfig.Net.created("a-tap-name-too-long", ns.path, GUEST_MAC, null)), new ByteArrayOutputStream())).close());
            assertTrue(e.getMessage().contains("tap name \"a-tap-name-too-long\" is not 1 to 15"), e.getMessage());

            // a name taken by a tap someone else made, and by a link of another kind: both refused, both untouched
            ns.ip("tuntap", "add", "dev", "theirs0", "mode", "tap");
            ns.ip("link", "add", "theirs1", "type", "bridge");
            for (String taken : List.of("theirs0", "theirs1")) {
                e = assertThrows(IllegalArgumentException.class, () -> Vm.create(config("", List.of(
                        DeviceConfig.Net.created(taken, ns.path, GUEST_MAC, null)), new ByteArrayOutputStream())).close());
                assertEquals("a network interface named " + taken + " already exists in network namespace " + ns.path
                        + "; choose another tap name", e.getMessage());
                assertTrue(hasLink(ns, taken), "the refused VM removed " + taken);
            }

            // the VM fails after it created (and addressed) the tap, on a missing disk: the tap goes with it
            Path missingDisk = tmp.resolve("missing.img");
            assertThrows(IOException.class, () -> Vm.create(config("", List.of(
                    DeviceConfig.Net.created("vmtap2", ns.path, GUEST_MAC, HostAddress.parse(HOST_CIDR)),
                    new DeviceConfig.Block(missingDisk, false)), new ByteArrayOutputStream())).close());
            assertFalse(hasLink(ns, "vmtap2"), "a VM that failed to start left the tap it created");
        }
        assertEquals(fds, tunFds(), "tap descriptors leaked");
    }

    @Test
    void aTapTheVmCreatedGoesWhenTheVmmIsKilled() throws Exception {
        assumeNetns();
        try (TestNetns ns = TestNetns.create()) {
            String java = ProcessHandle.current().info().command().orElseThrow();
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), TapHoldingVmm.class.getName(), TestGuests.elf().toString(),
                    ns.path.toString(), "vmtap3", GUEST_MAC));
            Process vmm = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(vmm.getInputStream(), StandardCharsets.UTF_8));
                StringBuilder seen = new StringBuilder();
                String line;
                while ((line = out.readLine()) != null && !line.equals(TapHoldingVmm.READY)) {
                    seen.append(line).append('\n');
                }
                assertNotNull(line, "the VMM process ended before its VM ran:\n" + seen);
                assertTrue(hasLink(ns, "vmtap3"), "the running VM has its tap");
                vmm.destroyForcibly(); // SIGKILL: no shutdown hook, no close: only the kernel cleans up
                assertTrue(vmm.waitFor(20, TimeUnit.SECONDS), "the killed VMM did not end");
                assertEquals(137, vmm.exitValue(), "the VMM died of SIGKILL");
            } finally {
                vmm.destroyForcibly();
                vmm.waitFor(20, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (hasLink(ns, "vmtap3") && System.nanoTime() < deadline) {
                Thread.sleep(50); // the link is unregistered as the dead process's descriptors are released
            }
            assertFalse(hasLink(ns, "vmtap3"), "the killed VMM's tap outlived it");
        }
    }

    /**
     * A VMM process for {@link #aTapTheVmCreatedGoesWhenTheVmmIsKilled}: runs the test guest in
     * its "echo" mode (it waits for console input that never comes) with a tap the VM creates,
     * prints {@link #READY} once the vCPUs run, and waits to be killed.
     * Arguments: guest ELF, namespace path, tap name, guest MAC.
     */
    static final class TapHoldingVmm {
        static final String READY = "vm running";

        public static void main(String[] args) throws Exception {
            VmConfig config = VmConfig.of(new BootSource(Path.of(args[0]), null, "vessel-test echo", true, 0), 1, MEMORY,
                    new ByteArrayOutputStream()).withDevices(List.of(DeviceConfig.Net.created(args[2], Path.of(args[1]),
                    args[3], null)));
            try (Vm vm = Vm.create(config)) {
                vm.start();
                System.out.println(READY);
                System.out.flush();
                vm.awaitExit(Duration.ofMinutes(5));
            }
        }
    }

    private static String readLine(SocketChannel c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256);
        while (b.position() == 0 || b.get(b.position() - 1) != '\n') {
            if (c.read(b) < 0 || !b.hasRemaining()) {
                break;
            }
        }
        b.flip();
        return StandardCharsets.US_ASCII.decode(b).toString().strip();
    }

    /** This process's descriptors on /dev/net/tun. */
    private static List<String> tunFds() throws IOException {
        List<String> found = new ArrayList<>();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals("/dev/net/tun")) {
                        found.add(p.getFileName().toString());
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return found;
    }
}
