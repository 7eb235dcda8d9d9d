package io.vessel.vmm.devices.virtio;

import io.vessel.linux.Tun;
import io.vessel.vmm.DeviceConfig;
import io.vessel.vmm.TestGuests;
import io.vessel.vmm.Vm;
import io.vessel.vmm.VmConfig;
import io.vessel.vmm.VmExit;
import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.ratelimit.RateLimiter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * virtio-net, virtio-vsock and a rate-limited virtio-blk inside a real VM: the test guest's
 * drivers against the kernel's network stack in a namespace the test makes, against Unix
 * sockets the test serves, and against a token bucket; bad device configurations fail with
 * clear errors and leave nothing behind.
 */
class DevicesInVmTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long MEMORY = 64L << 20;
    private static final String GUEST_MAC = "06:00:0a:4d:00:02";
    /** 10.77.0.0/24: the host end .1 in the test's namespace, the guest .2 (hex on the guest's command line). */
    private static final String HOST_CIDR = "10.77.0.1/24", GUEST_IP_HEX = "0a4d0002", HOST_IP_HEX = "0a4d0001";
    private static final int SECTOR = 512, DISK_SECTORS = 16;

    @TempDir
    Path tmp;

    private record Run(VmExit exit, String console) {
    }

    private static Run run(String cmdline, List<DeviceConfig> devices, java.util.function.Consumer<ByteArrayOutputStream> during)
            throws Exception {
        return run(cmdline, devices, during, null);
    }

    private static Run runAndInspect(String cmdline, List<DeviceConfig> devices, java.util.function.Consumer<Vm> afterExit)
            throws Exception {
        return run(cmdline, devices, null, afterExit);
    }

    private static Run run(String cmdline, List<DeviceConfig> devices, java.util.function.Consumer<ByteArrayOutputStream> during,
                           java.util.function.Consumer<Vm> afterExit) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VmConfig config = VmConfig.of(new BootSource(TestGuests.elf(), null, "vessel-test " + cmdline, true, 0), 1, MEMORY, console)
                .withDevices(devices);
        try (Vm vm = Vm.create(config)) {
            vm.start();
            if (during != null) {
                during.accept(console);
            }
            VmExit exit = vm.awaitExit(TIMEOUT);
            String text = text(console);
            assertNotNull(exit, "the guest did not finish within " + TIMEOUT + "; console:\n" + text);
            if (afterExit != null) {
                afterExit.accept(vm);
            }
            return new Run(exit, text);
        }
    }

    private static String text(ByteArrayOutputStream console) {
        synchronized (console) {
            return console.toString(StandardCharsets.UTF_8);
        }
    }

    private static void awaitConsole(ByteArrayOutputStream console, String line) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!text(console).contains(line)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest never printed '" + line + "':\n" + text(console));
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private static void assumeNetns() {
        TestGuests.assumeKvm();
        String missing = TestNetns.missingCapability();
        assumeTrue(missing == null, missing);
    }

    private static void assertNetPassed(Run r) {
        String c = r.console;
        assertTrue(c.contains("virtio-net at 0xd0000000 gsi 5"), c);
        assertTrue(c.contains("net: mac " + GUEST_MAC), c);
        assertTrue(c.contains("ok   the host answered the guest's ARP request"), c);
        assertTrue(c.contains("ok   the host answered the guest's ICMP echo request (checksums, id, sequence, payload)"), c);
        assertFalse(c.contains("FAIL"), c);
        assertEquals(new VmExit.GuestExit(0), r.exit, c);
    }

    @Test
    void guestPingsTheKernelThroughAnExistingTapInANamespace() throws Exception {
        assumeNetns();
        try (TestNetns ns = TestNetns.create()) {
            ns.ip("tuntap", "add", "dev", "vtap0", "mode", "tap");
            ns.ip("addr", "add", HOST_CIDR, "dev", "vtap0");
            ns.ip("link", "set", "vtap0", "up");
            Run r = run("net_ip=" + GUEST_IP_HEX + " net_peer=" + HOST_IP_HEX,
                    List.of(DeviceConfig.Net.named("vtap0", ns.path, GUEST_MAC)), null);
            assertNetPassed(r);
            assertTrue(r.console.contains("net: arp reply from " + macOf(ns, "vtap0")), r.console);
            assertTrue(ns.ip("link", "show", "vtap0").contains("vtap0"), "the VM removed a tap it did not make");
        }
    }

    @Test
    void guestTalksTcpWithAHostPeer() throws Exception {
        assumeNetns();
        int port = 7777;
        try (TestNetns ns = TestNetns.create()) {
            ns.ip("tuntap", "add", "dev", "vtap0", "mode", "tap");
            ns.ip("addr", "add", HOST_CIDR, "dev", "vtap0");
            ns.ip("link", "set", "vtap0", "up");
            CompletableFuture<String> heard = new CompletableFuture<>();
            try (ServerSocketChannel server = ns.listen(new InetSocketAddress("10.77.0.1", port))) {
                Thread peer = Thread.ofPlatform().name("test-tcp-peer").start(() -> {
                    try (SocketChannel c = server.accept()) {
                        String line = readLine(c);
                        heard.complete(line);
                        c.write(StandardCharsets.US_ASCII.encode(line.toUpperCase(java.util.Locale.ROOT) + "\n"));
                    } catch (IOException e) {
                        heard.completeExceptionally(e);
                    }
                });
                Run r = run("net_ip=" + GUEST_IP_HEX + " net_peer=" + HOST_IP_HEX + " net_tcp=" + Integer.toHexString(port),
                        List.of(DeviceConfig.Net.named("vtap0", ns.path, GUEST_MAC)), null);
                peer.join(TimeUnit.SECONDS.toMillis(10));
                assertNetPassed(r);
                assertTrue(r.console.contains("ok   the host answered SYN with SYN-ACK"), r.console);
                assertTrue(r.console.contains("net: tcp received \"HELLO OVER TCP\""), r.console);
                assertTrue(r.console.contains("ok   the host's TCP peer answered the guest's line in capitals and closed"), r.console);
                assertEquals("hello over tcp", heard.get(10, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void aTapVesselMadeIsTheVmsAndGoesWithIt() throws Exception {
        assumeNetns();
        try (TestNetns ns = TestNetns.create()) {
            Tun.Tap tap = Tun.open("vtap1", ns.path);
            ns.ip("addr", "add", HOST_CIDR, "dev", "vtap1");
            ns.ip("link", "set", "vtap1", "up");
            // the guest sends at least an ARP request and an echo request: at one frame per second the
            // second waits (between the two the guest prints a line and takes the ARP reply, which took
            // over 100 ms once on a loaded host: a shorter period let both through untouched)
            long refillMillis = 1000;
            RateLimiter oneFramePerSecond = RateLimiter.of(0, 0, 0, 1, 0, refillMillis, System::nanoTime);
            long[] throttles = new long[1];
            long start = System.nanoTime();
            Run r = runAndInspect("net_ip=" + GUEST_IP_HEX + " net_peer=" + HOST_IP_HEX,
                    List.of(DeviceConfig.Net.of(tap, GUEST_MAC).withLimiters(RateLimiter.UNLIMITED, oneFramePerSecond)),
                    vm -> throttles[0] = ((NetDevice) vm.devices().get(0).transport().device()).throttleCount());
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            assertNetPassed(r);
            assertTrue(throttles[0] >= 1, "the transmit limiter never held a frame back");
            assertTrue(elapsedMillis >= refillMillis, "two frames at one per " + refillMillis + " ms took " + elapsedMillis + " ms");
            assertFalse(ns.ip("link", "show").contains("vtap1"), "the VM's tap outlived it");
        }
    }

    private static String macOf(TestNetns ns, String link) throws IOException {
        String out = ns.ip("-br", "link", "show", link);
        return out.trim().split("\\s+")[2];
    }

    @Test
    void vsockEchoesBothWays() throws Exception {
        TestGuests.assumeKvm();
        Path uds = tmp.resolve("v.sock");
        int guestToHostPort = 5000, hostToGuestPort = 5001;
        CompletableFuture<String> hostSide = new CompletableFuture<>();
        try (ServerSocketChannel listener = ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(Path.of(uds + "_" + guestToHostPort)));
            Thread echo = Thread.ofPlatform().name("test-vsock-echo").start(() -> {
                try (SocketChannel c = listener.accept()) {
                    ByteBuffer b = ByteBuffer.allocate(256);
                    while (c.read(b) > 0 && b.position() < "hello from the guest\n".length()) {
                        // a line may come in pieces
                    }
                    b.flip();
                    c.write(b);
                    b.clear();
                    c.read(b); // EOF once the guest shuts down
                } catch (IOException e) {
                    // the assertion on the guest's console reports a broken exchange
                }
            });
            Run r = run("vsock_port=" + Integer.toHexString(guestToHostPort) + " vsock_listen=" + Integer.toHexString(hostToGuestPort),
                    List.of(new DeviceConfig.Vsock(42, uds)), console -> {
                        awaitConsole(console, "vsock: listening on port " + hostToGuestPort);
                        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(uds))) {
                            c.write(StandardCharsets.US_ASCII.encode("CONNECT " + hostToGuestPort + "\n"));
                            String ok = readLine(c);
                            byte[] ping = "ping from the host".getBytes(StandardCharsets.US_ASCII);
                            c.write(ByteBuffer.wrap(ping));
                            ByteBuffer back = ByteBuffer.allocate(ping.length);
                            while (back.hasRemaining() && c.read(back) > 0) {
                                // until the whole echo is back
                            }
                            hostSide.complete(ok + "|" + new String(back.array(), 0, back.position(), StandardCharsets.US_ASCII));
                        } catch (IOException e) {
                            hostSide.completeExceptionally(e);
                        }
                    });
            echo.join(TimeUnit.SECONDS.toMillis(10));
            String c = r.console;
            assertTrue(c.contains("vsock: guest cid 42"), c);
            assertTrue(c.contains("ok   the host accepted the guest's connection (RESPONSE)"), c);
            assertTrue(c.contains("ok   the host echoed the guest's line"), c);
            assertTrue(c.contains("ok   the host answered the guest's shutdown with RST"), c);
            assertTrue(c.contains("ok   the host connected to the guest's port (REQUEST)"), c);
            assertTrue(c.contains("ok   echoed the host's data, then the host shut down"), c);
            assertFalse(c.contains("FAIL"), c);
            assertEquals(new VmExit.GuestExit(0), r.exit, c);
            String host = hostSide.get(10, TimeUnit.SECONDS);
            assertTrue(host.matches("OK \\d+\\|ping from the host"), host);
        } finally {
            Files.deleteIfExists(Path.of(uds + "_" + guestToHostPort));
        }
        assertFalse(Files.exists(uds), "the VM left its vsock socket behind");
    }

    @Test
    void aHostConnectToAGuestThatDoesNotAnswerTimesOutWithAClearError() throws Exception {
        TestGuests.assumeKvm();
        Path uds = tmp.resolve("t.sock");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        // "echo": after setting up its devices (vsock rx buffers posted) the guest waits on its console, deaf to vsock
        VmConfig config = VmConfig.of(new BootSource(TestGuests.elf(), null, "vessel-test echo", true, 0), 1, MEMORY, console)
                .withDevices(List.of(new DeviceConfig.Vsock(43, uds)));
        try (Vm vm = Vm.create(config)) {
            vm.start();
            awaitConsole(console, "waiting for input");
            VsockDevice vsock = (VsockDevice) vm.devices().get(0).transport().device();
            long start = System.nanoTime();
            CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(uds))) {
                    c.write(StandardCharsets.US_ASCII.encode("CONNECT 119\n"));
                    String line = readLine(c);
                    ByteBuffer rest = ByteBuffer.allocate(16);
                    return line + (c.read(rest) < 0 ? "|EOF" : "|more");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertEquals("ERROR the guest did not accept the connection to vsock port 119 within "
                    + VsockDevice.DEFAULT_CONNECT_TIMEOUT.toMillis() + " ms|EOF", answer.get(30, TimeUnit.SECONDS));
            assertTrue((System.nanoTime() - start) / 1_000_000 >= VsockDevice.DEFAULT_CONNECT_TIMEOUT.toMillis());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (vsock.resetsSent() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(1, vsock.resetsSent(), "the guest got RST for the request it left unanswered");
            assertEquals(0, vsock.connectionCount());
            assertEquals(null, vm.awaitExit(Duration.ZERO), "the guest runs on:\n" + text(console));
        }
        assertFalse(Files.exists(uds), "the VM left its vsock socket behind");
    }

    @Test
    void aTransportResetReachesTheGuestsDriverOnTheEventQueue() throws Exception {
        TestGuests.assumeKvm();
        Path uds = tmp.resolve("e.sock");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VmConfig config = VmConfig.of(new BootSource(TestGuests.elf(), null, "vessel-test vsock_event", true, 0), 1, MEMORY,
                console).withDevices(List.of(new DeviceConfig.Vsock(44, uds)));
        try (Vm vm = Vm.create(config)) {
            vm.start();
            awaitConsole(console, "vsock: waiting for an event");
            VsockDevice vsock = (VsockDevice) vm.devices().get(0).transport().device();
            vsock.transportReset(); // what restoring a snapshot will do: all communication interrupted
            VmExit exit = vm.awaitExit(TIMEOUT);
            String c = text(console);
            assertEquals(new VmExit.GuestExit(0), exit, c);
            assertTrue(c.contains("vsock: event id 0, 4 bytes"), c);
            assertTrue(c.contains("ok   the device reported TRANSPORT_RESET on the event queue"), c);
            assertTrue(c.contains("ok   the guest CID read again after the reset is unchanged"), c);
            assertFalse(c.contains("FAIL"), c);
            assertEquals(1, vsock.transportResetsSent());
        }
    }

    private static String readLine(SocketChannel c) throws IOException {
        StringBuilder s = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (c.read(one) > 0) {
            char ch = (char) one.get(0);
            one.clear();
            if (ch == '\n') {
                break;
            }
            s.append(ch);
        }
        return s.toString();
    }

    @Test
    void aRateLimitedDiskServesAtTheBucketsRate() throws Exception {
        TestGuests.assumeKvm();
        byte[] image = new byte[DISK_SECTORS * SECTOR];
        Path disk = Files.write(tmp.resolve("disk.img"), image);
        long refillMillis = 50;
        // one request per 50 ms, no burst: the guest's nine requests (3 + 5 + 1) need at least 8 refills
        RateLimiter onePer50ms = RateLimiter.of(0, 0, 0, 1, 0, refillMillis, System::nanoTime);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        String cmdline = "vessel-test blk_sectors=" + Integer.toHexString(DISK_SECTORS) + " blk_sum="
                + Integer.toHexString(TestGuests.fnv1a(Arrays.copyOf(image, 4 * SECTOR)));
        VmConfig config = VmConfig.of(new BootSource(TestGuests.elf(), null, cmdline, true, 0), 1, MEMORY, console)
                .withDevices(List.of(new DeviceConfig.Block(disk, false, "limited").withLimiter(onePer50ms)));
        try (Vm vm = Vm.create(config)) {
            long start = System.nanoTime();
            vm.start();
            VmExit exit = vm.awaitExit(TIMEOUT);
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            String c = text(console);
            assertEquals(new VmExit.GuestExit(0), exit, c);
            assertTrue(c.contains("ok   four writes (one indirect) and a flush completed OK"), c);
            BlockDevice blk = (BlockDevice) vm.devices().get(0).transport().device();
            long requests = 9;
            assertTrue(elapsedMillis >= (requests - 1) * refillMillis,
                    "nine requests at one per " + refillMillis + " ms took only " + elapsedMillis + " ms");
            assertTrue(blk.throttleCount() >= 2, "the limiter held requests back only " + blk.throttleCount() + " times");
        }
    }

    @Test
    void badDeviceConfigsFailClearlyAndLeaveNothing() throws Exception {
        TestGuests.assumeKvm();
        Path kernel = TestGuests.elf();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceConfig.Net.named("vtap0", null, "06:00:0a:4d:00"));
        assertTrue(e.getMessage().contains("not six hex bytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DeviceConfig.Net.named("vtap0", null, "07:00:0a:4d:00:02"));
        assertTrue(e.getMessage().contains("multicast"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new DeviceConfig.Vsock(2, tmp.resolve("x.sock")));
        assertTrue(e.getMessage().contains("guest CID 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> VmConfig.of(BootSource.of(kernel, null, ""), 1, MEMORY,
                new ByteArrayOutputStream()).withDevices(List.of(new DeviceConfig.Vsock(5, tmp.resolve("a.sock")),
                new DeviceConfig.Vsock(6, tmp.resolve("b.sock")))));
        assertTrue(e.getMessage().contains("at most one vsock"), e.getMessage());

        long loops = eventLoopThreads();
        List<String> fds = vmFds();
        VmConfig first = VmConfig.of(BootSource.of(kernel, null, ""), 1, MEMORY, new ByteArrayOutputStream())
                .withDevices(List.of(new DeviceConfig.Vsock(9, tmp.resolve("first.sock"))));
        VmConfig second = VmConfig.of(BootSource.of(kernel, null, ""), 1, MEMORY, new ByteArrayOutputStream())
                .withDevices(List.of(new DeviceConfig.Rng(), new DeviceConfig.Vsock(9, tmp.resolve("second.sock"))));
        try (Vm vm = Vm.create(first)) {
            e = assertThrows(IllegalArgumentException.class, () -> Vm.create(second).close());
            assertTrue(e.getMessage().contains("guest CID 9 is already used"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("second.sock")));
            assertTrue(Files.exists(tmp.resolve("first.sock")));
        }
        assertFalse(Files.exists(tmp.resolve("first.sock")), "the closed VM left its vsock socket");
        Vm.create(second).close(); // the CID is free again once its VM is gone
        // a disk's I/O workers and the eventfd they wait on go with its VM
        Path image = Files.write(tmp.resolve("leak.img"), new byte[4096]);
        Vm.create(VmConfig.of(BootSource.of(kernel, null, ""), 1, MEMORY, new ByteArrayOutputStream())
                .withDevices(List.of(new DeviceConfig.Block(image, true)))).close();
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("virtio-blk")
                && t.isAlive()), "a closed VM left its disk's I/O workers");
        assertEquals(loops, eventLoopThreads(), "a failed VM left its event loop thread");
        assertEquals(fds, vmFds(), "file descriptors leaked");

        if (TestNetns.missingCapability() == null) {
            try (TestNetns ns = TestNetns.create()) {
                VmConfig missingTap = VmConfig.of(BootSource.of(kernel, null, ""), 1, MEMORY, new ByteArrayOutputStream())
                        .withDevices(List.of(new DeviceConfig.Vsock(11, tmp.resolve("third.sock")),
                                DeviceConfig.Net.named("nosuchtap", ns.path, GUEST_MAC)));
                e = assertThrows(IllegalArgumentException.class, () -> Vm.create(missingTap).close());
                assertTrue(e.getMessage().contains("tap device nosuchtap does not exist in network namespace " + ns.path),
                        e.getMessage());
                assertFalse(ns.ip("link", "show").contains("nosuchtap"), "the probe left the tap behind");

                // a tap handed to a VM that fails half-way (after the tap, a missing disk) goes with it
                Tun.Tap handed = Tun.open("vtap2", ns.path);
                VmConfig halfWay = VmConfig.of(BootSource.of(kernel, null, ""), 1, MEMORY, new ByteArrayOutputStream())
                        .withDevices(List.of(DeviceConfig.Net.of(handed, GUEST_MAC),
                                new DeviceConfig.Block(tmp.resolve("missing.img"), false)));
                assertThrows(IOException.class, () -> Vm.create(halfWay).close());
                assertFalse(ns.ip("link", "show").contains("vtap2"), "the failed VM left the tap it was given");
                assertEquals(fds, vmFds(), "file descriptors leaked");
                assertFalse(Files.exists(tmp.resolve("third.sock")), "the failed VM left its vsock socket");
                assertEquals(loops, eventLoopThreads(), "a failed VM left its event loop thread");
            }
        }
    }

    /**
     * The descriptors a VM opens: /dev/kvm and its VM/vCPU fds, taps, eventfds and epoll sets
     * (other tests' sockets may still be closing in the background, so only these are counted).
     */
    private static List<String> vmFds() throws IOException {
        List<String> found = new java.util.ArrayList<>();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    String target = Files.readSymbolicLink(p).toString();
                    if (target.equals("/dev/kvm") || target.startsWith("anon_inode:kvm") || target.equals("/dev/net/tun")
                            || target.equals("anon_inode:[eventfd]") || target.equals("anon_inode:[eventpoll]")) {
                        found.add(p.getFileName() + "->" + target);
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return found;
    }

    private static long eventLoopThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("vm-events")).count();
    }
}
