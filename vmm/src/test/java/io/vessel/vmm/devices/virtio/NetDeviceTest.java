package io.vessel.vmm.devices.virtio;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Tun;
import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.ratelimit.RateLimiter;
import io.vessel.vmm.ratelimit.RefillTimer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * virtio-net against the real kernel: the test plays the guest driver, the device's tap lives in
 * a network namespace the test makes (its host side at 10.201.N.1/24), and the host kernel
 * answers the frames the "guest" transmits — ARP, ICMP echo, a TCP handshake — on the receive
 * queue.
 */
class NetDeviceTest {
    static final byte[] GUEST_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static final long RING = Features.bit(Features.VERSION_1) | Features.bit(Features.INDIRECT_DESC)
            | Features.bit(Features.EVENT_IDX);
    static final long BASIC = RING | Features.bit(NetDevice.F_MAC) | Features.bit(NetDevice.F_STATUS);
    static final long TIMEOUT_MS = 5000;

    GuestMemory memory;
    TestNetns ns;
    NetDevice net;
    TestDriver driver;
    TestDriver.Queue rx;
    TestDriver.Queue tx;
    long accepted;
    final Map<Integer, long[]> rxBuffers = new HashMap<>(); // head -> {address, size}
    final AtomicInteger interrupts = new AtomicInteger();
    byte[] hostIp;
    byte[] guestIp;
    byte[] hostMac;

    @BeforeEach
    void setUp() throws Exception {
        String missing = TestNetns.missingCapability();
        assumeTrue(missing == null, () -> "virtio-net needs a tap in a netns: " + missing);
        memory = GuestMemory.x86(32 << 20);
        ns = TestNetns.create();
        int n = 1 + ThreadLocalRandom.current().nextInt(250);
        hostIp = Frames.ip(10, 201, n, 1);
        guestIp = Frames.ip(10, 201, n, 2);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (net != null) {
            net.close();
        }
        if (ns != null) {
            String name = ns.name;
            ns.close();
            assertFalse(TestNetns.exists(name), "namespace " + name + " left behind");
        }
        if (memory != null) {
            memory.close();
        }
    }

    void start(long features, int rxCount, int rxSize) throws Exception {
        start(features, rxCount, rxSize, RateLimiter.UNLIMITED, RateLimiter.UNLIMITED, RefillTimer.shared());
    }

    void start(long features, int rxCount, int rxSize, RateLimiter rxLimit, RateLimiter txLimit, RefillTimer timer)
            throws Exception {
        Tun.Tap tap = Tun.open("vtap0", ns.path);
        net = NetDevice.open(tap, GUEST_MAC, rxLimit, txLimit, timer);
        ns.ip("addr", "add", ipText(hostIp) + "/24", "dev", tap.name());
        ns.ip("link", "set", tap.name(), "up");
        hostMac = NetDevice.parseMac(ns.exec("cat", "/sys/class/net/" + tap.name() + "/address").strip());
        MmioTransport transport = new MmioTransport(net, memory, interrupts::incrementAndGet);
        driver = new TestDriver(transport, memory, interrupts, 0x10000);
        accepted = driver.deviceFeatures() & features;
        assertTrue(driver.negotiate(accepted), "FEATURES_OK with 0x" + Long.toHexString(accepted));
        rx = driver.queue(NetDevice.RX_QUEUE, 256, accepted);
        tx = driver.queue(NetDevice.TX_QUEUE, 256, accepted);
        driver.driverOk();
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK,
                driver.reg(MmioTransport.STATUS), () -> "needs reset: " + transport.needsResetReason());
        for (int i = 0; i < rxCount; i++) {
            postRx(driver.alloc(rxSize, 64), rxSize);
        }
        rx.kick();
    }

    static String ipText(byte[] ip) {
        return (ip[0] & 0xFF) + "." + (ip[1] & 0xFF) + "." + (ip[2] & 0xFF) + "." + (ip[3] & 0xFF);
    }

    void postRx(long address, int size) {
        int head = rx.post(List.of(), List.of(new TestDriver.Buf(address, size)), false);
        rxBuffers.put(head, new long[] {address, size});
    }

    /** Transmits {@code frame} behind a zero header, header and frame in separate descriptors. */
    void send(byte[] frame) {
        long header = driver.alloc(NetDevice.HEADER_BYTES, 16);
        memory.write(header, new byte[NetDevice.HEADER_BYTES]);
        long data = driver.alloc(frame.length, 16);
        memory.write(data, frame);
        tx.post(List.of(new TestDriver.Buf(header, NetDevice.HEADER_BYTES), new TestDriver.Buf(data, frame.length)),
                List.of(), false);
        tx.kick();
        List<TestDriver.Used> done = tx.collect();
        assertEquals(1, done.size(), "the transmit chain comes back at once");
        assertEquals(0, done.getFirst().length(), "transmit writes nothing into the chain");
    }

    /** A received frame: its header and the Ethernet frame, and how many buffers it took. */
    record Received(byte[] header, byte[] frame, int buffers) {
        int numBuffers() {
            return ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(NetDevice.HDR_NUM_BUFFERS);
        }
    }

    /**
     * Lets the device read the tap (as the event loop does when it is readable) until a frame
     * matching {@code wanted} arrives; reposts every buffer it gets back. Returns all frames seen.
     */
    List<Received> receiveUntil(Predicate<byte[]> wanted) throws InterruptedException {
        List<Received> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
        while (System.nanoTime() < deadline) {
            net.onTapReadable();
            List<TestDriver.Used> used = new ArrayList<>(rx.collect());
            boolean found = false;
            while (!used.isEmpty()) {
                TestDriver.Used first = used.removeFirst();
                long[] buf = rxBuffers.get(first.id());
                byte[] bytes = memory.read(buf[0], first.length());
                assertTrue(first.length() >= NetDevice.HEADER_BYTES, "a received chain holds the header");
                byte[] header = Arrays.copyOf(bytes, NetDevice.HEADER_BYTES);
                ByteArrayOutputStream frame = new ByteArrayOutputStream();
                frame.write(bytes, NetDevice.HEADER_BYTES, bytes.length - NetDevice.HEADER_BYTES);
                Received r = new Received(header, null, 0);
                int count = r.numBuffers();
                for (int i = 1; i < count; i++) {
                    TestDriver.Used next = used.removeFirst();
                    long[] nb = rxBuffers.get(next.id());
                    frame.writeBytes(memory.read(nb[0], next.length()));
                    postRx(nb[0], (int) nb[1]);
                }
                postRx(buf[0], (int) buf[1]);
                Received got = new Received(header, frame.toByteArray(), count);
                seen.add(got);
                found |= wanted.test(got.frame());
            }
            rx.kick();
            if (found) {
                return seen;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no matching frame within " + TIMEOUT_MS + " ms; saw " + seen.size() + " frames");
    }

    static boolean isArpReply(byte[] f) {
        return Frames.ethertype(f) == Frames.ETHERTYPE_ARP && f.length >= 42 && f[20] == 0 && f[21] == 2;
    }

    static boolean isEchoReply(byte[] f) {
        return Frames.ipProtocol(f) == Frames.PROTO_ICMP && f[Frames.ETH_HLEN + Frames.ipHeaderLength(f)] == 0;
    }

    static Received find(List<Received> frames, Predicate<byte[]> p) {
        return frames.stream().filter(r -> p.test(r.frame())).findFirst().orElseThrow();
    }

    /** ARP for the host, learn its MAC from the reply. */
    void arp() throws Exception {
        send(Frames.arpRequest(GUEST_MAC, guestIp, hostIp));
        byte[] reply = find(receiveUntil(NetDeviceTest::isArpReply), NetDeviceTest::isArpReply).frame();
        assertArrayEquals(GUEST_MAC, Frames.slice(reply, 0, 6), "to the guest");
        assertArrayEquals(hostMac, Frames.slice(reply, 22, 6), "sender hardware address: the tap");
        assertArrayEquals(hostIp, Frames.slice(reply, 28, 4), "sender protocol address: the host side");
        assertArrayEquals(GUEST_MAC, Frames.slice(reply, 32, 6));
        assertArrayEquals(guestIp, Frames.slice(reply, 38, 4));
    }

    /** Pings the host with {@code payload}; returns the echo reply after checking it. */
    Received ping(byte[] payload, int seq) throws Exception {
        byte[] icmp = Frames.icmpEcho(8, 0x5151, seq, payload);
        send(Frames.ipv4(hostMac, GUEST_MAC, guestIp, hostIp, Frames.PROTO_ICMP, icmp, seq));
        Received r = find(receiveUntil(NetDeviceTest::isEchoReply), NetDeviceTest::isEchoReply);
        byte[] f = r.frame();
        int ihl = Frames.ipHeaderLength(f);
        assertEquals(0, Frames.checksum(f, Frames.ETH_HLEN, ihl), "IPv4 header checksum");
        assertArrayEquals(hostIp, Frames.slice(f, Frames.ETH_HLEN + 12, 4));
        assertArrayEquals(guestIp, Frames.slice(f, Frames.ETH_HLEN + 16, 4));
        int icmpAt = Frames.ETH_HLEN + ihl;
        int icmpLength = Frames.ipTotalLength(f) - ihl;
        assertEquals(0, Frames.checksum(f, icmpAt, icmpLength), "ICMP checksum");
        assertEquals(0x5151, ((f[icmpAt + 4] & 0xFF) << 8) | (f[icmpAt + 5] & 0xFF));
        assertEquals(seq, ((f[icmpAt + 6] & 0xFF) << 8) | (f[icmpAt + 7] & 0xFF));
        assertArrayEquals(payload, Frames.slice(f, icmpAt + 8, icmpLength - 8));
        return r;
    }

    static byte[] payload(int n) {
        byte[] p = new byte[n];
        for (int i = 0; i < n; i++) {
            p[i] = (byte) (i * 7 + 3);
        }
        return p;
    }

    @Test
    void announcesMacAndLinkUp() throws Exception {
        start(BASIC, 4, 2048);
        byte[] config = new byte[8];
        driver.transport.read(MmioTransport.CONFIG, config);
        assertArrayEquals(GUEST_MAC, Arrays.copyOf(config, 6));
        assertEquals(NetDevice.S_LINK_UP, config[6] | config[7] << 8);
        assertEquals(NetDevice.DEVICE_TYPE, driver.reg(MmioTransport.DEVICE_ID));
        long offered = driver.deviceFeatures();
        for (int bit : new int[] {NetDevice.F_MAC, NetDevice.F_STATUS, NetDevice.F_MRG_RXBUF, NetDevice.F_CSUM,
                NetDevice.F_GUEST_CSUM}) {
            assertTrue(Features.has(offered, bit), "offers feature " + bit);
        }
    }

    @Test
    void arpAndPingCrossTheTapInBigBuffers() throws Exception {
        start(BASIC, 16, 2048);
        arp();
        Received r = ping(payload(56), 1);
        assertEquals(1, r.numBuffers(), "num_buffers is 1 without MRG_RXBUF");
        ping(payload(1400), 2);
        NetDevice.Stats s = net.stats();
        assertEquals(3, s.txFrames());
        assertTrue(s.rxFrames() >= 3, s.toString());
        assertEquals(0, s.txDropped());
    }

    @Test
    void mergeableReceiveBuffersCarryAFrameLargerThanOne() throws Exception {
        start(BASIC | Features.bit(NetDevice.F_MRG_RXBUF), 64, 256);
        arp();
        Received r = ping(payload(1200), 7);
        int expected = (NetDevice.HEADER_BYTES + r.frame().length + 255) / 256;
        assertEquals(expected, r.buffers(), "1254 bytes in 256-byte buffers");
        assertEquals(expected, r.numBuffers());
    }

    @Test
    void aFrameWaitsForEnoughMergeableBuffersInsteadOfBeingDropped() throws Exception {
        start(BASIC | Features.bit(NetDevice.F_MRG_RXBUF), 2, 256); // 512 bytes posted: an ARP reply fits
        arp();
        byte[] icmp = Frames.icmpEcho(8, 0x5151, 9, payload(1000));
        send(Frames.ipv4(hostMac, GUEST_MAC, guestIp, hostIp, Frames.PROTO_ICMP, icmp, 9));
        for (int i = 0; i < 20; i++) {
            net.onTapReadable(); // the reply is in the tap now; 512 bytes of buffers are too few
            Thread.sleep(10);
        }
        assertEquals(List.of(), rx.collect(), "nothing delivered into too few buffers");
        assertEquals(0, net.stats().rxDropped(), "the frame is held, not dropped");
        for (int i = 0; i < 4; i++) {
            postRx(driver.alloc(256, 64), 256);
        }
        assertTrue(rx.kick(), "the device asked to be told about new buffers");
        Received r = find(receiveUntil(NetDeviceTest::isEchoReply), NetDeviceTest::isEchoReply);
        assertEquals(5, r.numBuffers(), "12 + 1042 bytes in 256-byte buffers");
    }

    @Test
    void framesThatDoNotFitAreDroppedAndCountedWhileSmallOnesStillArrive() throws Exception {
        start(BASIC, 8, 128); // room for an ARP reply, not for a 1000-byte echo reply
        arp();
        byte[] icmp = Frames.icmpEcho(8, 1, 1, payload(1000));
        send(Frames.ipv4(hostMac, GUEST_MAC, guestIp, hostIp, Frames.PROTO_ICMP, icmp, 1));
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
        while (net.stats().rxDropped() == 0 && System.nanoTime() < deadline) {
            net.onTapReadable();
            Thread.sleep(10);
        }
        assertEquals(1, net.stats().rxDropped(), net.stats().toString());
        assertEquals(List.of(), rx.collect(), "no buffer was used for the dropped frame");
        arp(); // the buffers are all still there and the device still delivers
    }

    @Test
    void tcpHandshakeWithAHostPeer() throws Exception {
        start(BASIC, 16, 2048);
        arp();
        int port = 7000 + ThreadLocalRandom.current().nextInt(1000);
        // a listener in the namespace (the kernel's, no user process needed): SYN gets SYN-ACK
        long isn = 0x10203040L;
        byte[] syn = Frames.tcp(guestIp, hostIp, 40000, port, isn, 0, 0x02, new byte[0]);
        Process listener = new ProcessBuilder("ip", "netns", "exec", ns.name, "busybox", "nc", "-l", "-p",
                Integer.toString(port)).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            waitForListener(port);
            send(Frames.ipv4(hostMac, GUEST_MAC, guestIp, hostIp, Frames.PROTO_TCP, syn, 100));
            Predicate<byte[]> synAck = f -> Frames.ipProtocol(f) == Frames.PROTO_TCP
                    && (f[Frames.ETH_HLEN + Frames.ipHeaderLength(f) + 13] & 0x12) == 0x12;
            byte[] f = find(receiveUntil(synAck), synAck).frame();
            int ihl = Frames.ipHeaderLength(f);
            int tcpAt = Frames.ETH_HLEN + ihl;
            int tcpLength = Frames.ipTotalLength(f) - ihl;
            assertEquals(0, ~Frames.sum(f, tcpAt, tcpLength,
                    Frames.pseudoHeader(hostIp, guestIp, Frames.PROTO_TCP, tcpLength)) & 0xFFFF, "TCP checksum");
            long ack = ByteBuffer.wrap(f, tcpAt + 8, 4).getInt() & 0xFFFFFFFFL;
            assertEquals(isn + 1, ack, "SYN-ACK acknowledges our SYN");
            long serverSeq = ByteBuffer.wrap(f, tcpAt + 4, 4).getInt() & 0xFFFFFFFFL;
            // complete the handshake and send a line: nc prints it
            byte[] ackSeg = Frames.tcp(guestIp, hostIp, 40000, port, isn + 1, serverSeq + 1, 0x10, new byte[0]);
            send(Frames.ipv4(hostMac, GUEST_MAC, guestIp, hostIp, Frames.PROTO_TCP, ackSeg, 101));
            byte[] line = "hello over virtio-net\n".getBytes();
            byte[] data = Frames.tcp(guestIp, hostIp, 40000, port, isn + 1, serverSeq + 1, 0x18, line);
            send(Frames.ipv4(hostMac, GUEST_MAC, guestIp, hostIp, Frames.PROTO_TCP, data, 102));
            Predicate<byte[]> acksData = g -> Frames.ipProtocol(g) == Frames.PROTO_TCP
                    && (ByteBuffer.wrap(g, Frames.ETH_HLEN + Frames.ipHeaderLength(g) + 8, 4).getInt() & 0xFFFFFFFFL)
                    == isn + 1 + line.length;
            receiveUntil(acksData);
            byte[] fin = Frames.tcp(guestIp, hostIp, 40000, port, isn + 1 + line.length, serverSeq + 1, 0x11,
                    new byte[0]);
            send(Frames.ipv4(hostMac, GUEST_MAC, guestIp, hostIp, Frames.PROTO_TCP, fin, 103));
            assertTrue(listener.waitFor(5, java.util.concurrent.TimeUnit.SECONDS), "nc ends on FIN");
            assertEquals("hello over virtio-net\n", new String(listener.getInputStream().readAllBytes()));
        } finally {
            listener.destroyForcibly().waitFor();
        }
    }

    private void waitForListener(int port) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
        String hex = String.format(":%04X ", port);
        while (System.nanoTime() < deadline) {
            String sockets = ns.exec("cat", "/proc/net/tcp", "/proc/net/tcp6"); // nc listens dual-stack
            if (sockets.lines().anyMatch(l -> l.contains(hex) && l.contains(" 0A "))) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("nc did not listen on " + port);
    }

    @Test
    void transmitRateLimiterHoldsItsRate() throws Exception {
        AtomicLong clock = new AtomicLong();
        BlockDeviceTest.ManualTimer timer = new BlockDeviceTest.ManualTimer(clock);
        // 2 frames per 100 ms, and 84 bytes (two ARP requests) per 100 ms
        RateLimiter txLimit = RateLimiter.of(84, 0, 100, 2, 0, 100, clock::get);
        start(BASIC, 8, 2048, RateLimiter.UNLIMITED, txLimit, timer);
        byte[] arp = Frames.arpRequest(GUEST_MAC, guestIp, hostIp);
        for (int i = 0; i < 10; i++) {
            long header = driver.alloc(NetDevice.HEADER_BYTES, 16);
            memory.write(header, new byte[NetDevice.HEADER_BYTES]);
            long data = driver.alloc(arp.length, 16);
            memory.write(data, arp);
            tx.post(List.of(new TestDriver.Buf(header, NetDevice.HEADER_BYTES), new TestDriver.Buf(data, arp.length)),
                    List.of(), i % 2 == 0);
        }
        tx.kick();
        assertEquals(2, tx.collect().size(), "the buckets let two frames through at once");
        assertEquals(1, timer.tasks.size(), "one retry scheduled, no busy loop");
        int sent = 2;
        while (timer.fireNext()) {
            sent += tx.collect().size();
        }
        assertEquals(10, sent);
        assertEquals(400 * 1_000_000L, clock.get(), "8 more frames at 2 per 100 ms");
        assertEquals(10, net.stats().txFrames());
        assertEquals(10L * arp.length, net.stats().txBytes());
    }

    @Test
    void badInputIsRefusedByName() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> Tun.open("a name with spaces", ns.path));
        assertThrows(IllegalArgumentException.class, () -> Tun.open("much-too-long-for-a-link"));
        ErrnoException e = assertThrows(ErrnoException.class, () -> Tun.open("vtap0", Path.of("/run/netns/no-such-ns")));
        assertTrue(e.getMessage().contains("/run/netns/no-such-ns"), e.getMessage());
        try (Tun.Tap tap = Tun.open("vtap1", ns.path)) {
            IllegalArgumentException m = assertThrows(IllegalArgumentException.class,
                    () -> NetDevice.open(tap, new byte[] {1, 2, 3, 4, 5, 6}));
            assertTrue(m.getMessage().contains("multicast"), m.getMessage());
            assertTrue(ns.ip("link", "show").contains("vtap1"));
        }
        assertFalse(ns.ip("link", "show").contains("vtap1"), "closing the tap removes the link");
        assertThrows(IllegalArgumentException.class, () -> NetDevice.parseMac("52:54:00:12:34"));
    }
}
