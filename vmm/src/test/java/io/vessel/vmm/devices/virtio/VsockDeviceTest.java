package io.vessel.vmm.devices.virtio;

import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.NonBlockingIo;
import io.vessel.linux.Sockets;
import io.vessel.vmm.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-vsock with the test as the guest's vsock driver and real Unix sockets on the host side:
 * connections both ways, echo, credit accounting, shutdown and reset, hostile packets.
 */
class VsockDeviceTest {
    static final long CID = 42;
    static final long RING = Features.bit(Features.VERSION_1) | Features.bit(Features.INDIRECT_DESC)
            | Features.bit(Features.EVENT_IDX);
    static final int RX_BUFFER = 4096;
    static final long TIMEOUT_NS = 5_000_000_000L;

    @TempDir
    Path dir;
    Path uds;
    GuestMemory memory;
    VsockDevice vsock;
    MmioTransport transport;
    TestDriver driver;
    TestDriver.Queue rx;
    TestDriver.Queue tx;
    TestDriver.Queue events;
    final Map<Integer, Long> rxBuffers = new HashMap<>();
    final List<Rx> received = new ArrayList<>();
    final List<AutoCloseable> cleanup = new ArrayList<>();
    int fdsBefore;

    @BeforeEach
    void setUp() throws Exception {
        fdsBefore = openFds();
        uds = dir.resolve("v.sock");
        memory = GuestMemory.x86(32 << 20);
        vsock = VsockDevice.open(CID, uds);
        transport = new MmioTransport(vsock, memory, new AtomicInteger()::incrementAndGet);
        driver = new TestDriver(transport, memory, new AtomicInteger(), 0x10000);
        assertTrue(driver.negotiate(driver.deviceFeatures() & RING));
        rx = driver.queue(VsockDevice.RX_QUEUE, 256, RING);
        tx = driver.queue(VsockDevice.TX_QUEUE, 256, RING);
        events = driver.queue(VsockDevice.EVENT_QUEUE, 256, RING);
        driver.driverOk();
        assertEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
        for (int i = 0; i < 64; i++) {
            long at = driver.alloc(RX_BUFFER, 64);
            rxBuffers.put(rx.post(List.of(), List.of(new TestDriver.Buf(at, RX_BUFFER)), false), at);
        }
        rx.kick();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : cleanup.reversed()) {
            c.close();
        }
        vsock.close();
        memory.close();
        assertFalse(java.nio.file.Files.exists(uds), "the host socket is removed");
        assertEquals(fdsBefore, openFds(), "descriptors left open");
    }

    static int openFds() throws IOException {
        try (var s = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        }
    }

    /** A packet as the guest sends it. */
    record Rx(VsockPacket header, byte[] data) {
    }

    static VsockPacket packet(long srcPort, long dstPort, int op, int flags, long len, long bufAlloc, long fwdCnt) {
        return new VsockPacket(CID, VsockDevice.HOST_CID, srcPort, dstPort, len, VsockPacket.TYPE_STREAM, op, flags,
                bufAlloc, fwdCnt);
    }

    void send(VsockPacket header, byte[] data) {
        long h = driver.alloc(VsockPacket.HEADER_BYTES, 16);
        memory.write(h, header.toBytes());
        List<TestDriver.Buf> out = new ArrayList<>(List.of(new TestDriver.Buf(h, VsockPacket.HEADER_BYTES)));
        if (data.length > 0) {
            long d = driver.alloc(data.length, 16);
            memory.write(d, data);
            out.add(new TestDriver.Buf(d, data.length));
        }
        tx.post(out, List.of(), false);
        tx.kick();
        assertEquals(1, tx.collect().size());
    }

    void send(long srcPort, long dstPort, int op, int flags, long bufAlloc, long fwdCnt) {
        send(packet(srcPort, dstPort, op, flags, 0, bufAlloc, fwdCnt), new byte[0]);
    }

    void sendData(long srcPort, long dstPort, byte[] data, long bufAlloc, long fwdCnt) {
        send(packet(srcPort, dstPort, VsockPacket.OP_RW, 0, data.length, bufAlloc, fwdCnt), data);
    }

    /** Pumps host events (as the event loop does) until a received packet matches; returns it. */
    Rx await(String what, Predicate<Rx> wanted) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_NS;
        while (true) {
            pump();
            for (Iterator<Rx> it = received.iterator(); it.hasNext(); ) {
                Rx r = it.next();
                if (wanted.test(r)) {
                    it.remove();
                    return r;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " within 5 s; received " + received);
            }
            Thread.sleep(5);
        }
    }

    void pump() {
        vsock.onHostEvents();
        for (TestDriver.Used u : rx.collect()) {
            long at = rxBuffers.get(u.id());
            assertTrue(u.length() >= VsockPacket.HEADER_BYTES, "a packet has a header");
            VsockPacket h = VsockPacket.parse(memory.read(at, VsockPacket.HEADER_BYTES));
            assertEquals(VsockDevice.HOST_CID, h.srcCid());
            assertEquals(CID, h.dstCid());
            assertEquals(VsockPacket.TYPE_STREAM, h.type());
            assertEquals(u.length(), VsockPacket.HEADER_BYTES + h.len(), "used length = header + len");
            received.add(new Rx(h, memory.read(at + VsockPacket.HEADER_BYTES, (int) h.len())));
            rxBuffers.put(rx.post(List.of(), List.of(new TestDriver.Buf(at, RX_BUFFER)), false), at);
        }
        rx.kick();
    }

    static Predicate<Rx> op(int op, long srcPort, long dstPort) {
        return r -> r.header().op() == op && r.header().srcPort() == srcPort && r.header().dstPort() == dstPort;
    }

    /** Reads exactly {@code n} bytes from a host socket (made non-blocking), within the timeout. */
    byte[] hostRead(Fd fd, int n) throws Exception {
        NonBlockingIo.setNonBlocking(fd.num());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long deadline = System.nanoTime() + TIMEOUT_NS;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(n);
            while (out.size() < n) {
                pump();
                long got = NonBlockingIo.read(fd.num(), buf.asSlice(0, n - out.size()));
                if (got == 0) {
                    throw new AssertionError("host stream ended after " + out.size() + " of " + n + " bytes");
                }
                if (got > 0) {
                    out.write(buf.asSlice(0, got).toArray(ValueLayout.JAVA_BYTE));
                    continue;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("host read " + out.size() + " of " + n + " bytes in 5 s");
                }
                Thread.sleep(5);
            }
        }
        return out.toByteArray();
    }

    /** A host process listening on {@code uds_P} that echoes each connection until it ends. */
    Thread echoServer(long port) throws Exception {
        Fd listener = Sockets.listen(uds + "_" + port);
        cleanup.add(listener);
        cleanup.add(() -> java.nio.file.Files.deleteIfExists(Path.of(uds + "_" + port)));
        Thread t = Thread.ofPlatform().daemon(true).start(() -> {
            try (Fd conn = Sockets.accept(listener)) {
                byte[] buf = new byte[4096];
                int n;
                while ((n = Files.read(conn.num(), buf)) > 0) {
                    Files.write(conn.num(), java.util.Arrays.copyOf(buf, n));
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        cleanup.add(() -> t.join(5000));
        return t;
    }

    @Test
    void configurationHoldsTheGuestCid() {
        byte[] config = new byte[8];
        transport.read(MmioTransport.CONFIG, config);
        assertEquals(CID, java.nio.ByteBuffer.wrap(config).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong());
        assertEquals(VsockDevice.DEVICE_TYPE, driver.reg(MmioTransport.DEVICE_ID));
    }

    @Test
    void guestConnectsToAHostListenerAndGetsItsBytesEchoed() throws Exception {
        Thread server = echoServer(5000);
        send(1234, 5000, VsockPacket.OP_REQUEST, 0, 65536, 0);
        Rx response = await("RESPONSE", op(VsockPacket.OP_RESPONSE, 5000, 1234));
        assertEquals(VsockDevice.BUF_ALLOC, response.header().bufAlloc());
        byte[] hello = "hello vsock".getBytes(StandardCharsets.UTF_8);
        sendData(1234, 5000, hello, 65536, 0);
        Rx echo = await("echoed RW", op(VsockPacket.OP_RW, 5000, 1234));
        assertArrayEquals(hello, echo.data());
        assertEquals(hello.length, echo.header().fwdCnt(), "the device forwarded all 11 bytes to the host");
        assertEquals(1, vsock.connectionCount());
        send(1234, 5000, VsockPacket.OP_SHUTDOWN, VsockPacket.SHUTDOWN_RCV | VsockPacket.SHUTDOWN_SEND, 65536,
                hello.length);
        await("RST ending the connection", op(VsockPacket.OP_RST, 5000, 1234));
        server.join(5000);
        assertFalse(server.isAlive(), "the host side saw the stream end");
        assertEquals(0, vsock.connectionCount());
    }

    /** Host connects with CONNECT 52; returns {host stream, the host port the device chose}. */
    Object[] hostConnect(long guestPort, long guestBufAlloc) throws Exception {
        Fd host = Sockets.connect(uds.toString());
        cleanup.add(host);
        Files.write(host.num(), ("CONNECT " + guestPort + "\n").getBytes(StandardCharsets.US_ASCII));
        Rx request = await("REQUEST", r -> r.header().op() == VsockPacket.OP_REQUEST
                && r.header().dstPort() == guestPort);
        long local = request.header().srcPort();
        send(guestPort, local, VsockPacket.OP_RESPONSE, 0, guestBufAlloc, 0);
        String ok = "OK " + local + "\n";
        assertEquals(ok, new String(hostRead(host, ok.length()), StandardCharsets.US_ASCII));
        return new Object[] {host, local};
    }

    @Test
    void hostConnectsToTheGuestAndBytesFlowBothWays() throws Exception {
        Object[] c = hostConnect(52, 65536);
        Fd host = (Fd) c[0];
        long local = (long) c[1];
        Files.write(host.num(), "ping".getBytes(StandardCharsets.US_ASCII));
        Rx ping = await("RW from the host", op(VsockPacket.OP_RW, local, 52));
        assertEquals("ping", new String(ping.data(), StandardCharsets.US_ASCII));
        sendData(52, local, "pong".getBytes(StandardCharsets.US_ASCII), 65536, 4);
        assertEquals("pong", new String(hostRead(host, 4), StandardCharsets.US_ASCII));

        NonBlockingIo.shutdown(host.num(), NonBlockingIo.SHUT_WR);
        Rx shutdown = await("SHUTDOWN after the host's end of stream", op(VsockPacket.OP_SHUTDOWN, local, 52));
        assertEquals(VsockPacket.SHUTDOWN_SEND, shutdown.header().flags());
        sendData(52, local, "still".getBytes(StandardCharsets.US_ASCII), 65536, 4);
        assertEquals("still", new String(hostRead(host, 5), StandardCharsets.US_ASCII), "the other half still works");
        send(52, local, VsockPacket.OP_SHUTDOWN, VsockPacket.SHUTDOWN_RCV | VsockPacket.SHUTDOWN_SEND, 65536, 4);
        await("RST", op(VsockPacket.OP_RST, local, 52));
        hostReadToEof(host); // the host stream ends
        assertEquals(0, vsock.connectionCount());
    }

    /** Everything a host stream gets until its end of file, within the timeout. */
    String hostReadToEof(Fd fd) throws Exception {
        NonBlockingIo.setNonBlocking(fd.num());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long deadline = System.nanoTime() + TIMEOUT_NS;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(256);
            while (System.nanoTime() < deadline) {
                pump();
                long got = NonBlockingIo.read(fd.num(), buf);
                if (got == 0) {
                    return out.toString(StandardCharsets.US_ASCII);
                }
                if (got > 0) {
                    out.write(buf.asSlice(0, got).toArray(ValueLayout.JAVA_BYTE));
                } else {
                    Thread.sleep(5);
                }
            }
        }
        throw new AssertionError("the host stream did not end within 5 s; it got: " + out.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void aHostConnectTheGuestNeverAnswersTimesOutWithAnErrorLineAndRstToTheGuest() throws Exception {
        Fd host = Sockets.connect(uds.toString());
        cleanup.add(host);
        long start = System.nanoTime();
        Files.write(host.num(), "CONNECT 70\n".getBytes(StandardCharsets.US_ASCII));
        Rx request = await("REQUEST", r -> r.header().op() == VsockPacket.OP_REQUEST && r.header().dstPort() == 70);
        long local = request.header().srcPort();
        // the guest stays silent
        assertEquals("ERROR the guest did not accept the connection to vsock port 70 within "
                + VsockDevice.DEFAULT_CONNECT_TIMEOUT.toMillis() + " ms\n", hostReadToEof(host));
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(waitedMillis >= VsockDevice.DEFAULT_CONNECT_TIMEOUT.toMillis(), "gave up after " + waitedMillis + " ms");
        await("RST withdrawing the request", op(VsockPacket.OP_RST, local, 70));
        assertEquals(0, vsock.connectionCount());
        // a late RESPONSE finds no connection and is answered with RST
        send(70, local, VsockPacket.OP_RESPONSE, 0, 65536, 0);
        await("RST for the late RESPONSE", op(VsockPacket.OP_RST, local, 70));
        assertEquals(0, vsock.connectionCount());
    }

    @Test
    void aHostConnectTheGuestRefusesGetsAnErrorLine() throws Exception {
        Fd host = Sockets.connect(uds.toString());
        cleanup.add(host);
        Files.write(host.num(), "CONNECT 71\n".getBytes(StandardCharsets.US_ASCII));
        Rx request = await("REQUEST", r -> r.header().op() == VsockPacket.OP_REQUEST && r.header().dstPort() == 71);
        send(71, request.header().srcPort(), VsockPacket.OP_RST, 0, 0, 0);
        assertEquals("ERROR the guest refused the connection to vsock port 71 (nothing listens there)\n",
                hostReadToEof(host));
        assertEquals(0, vsock.connectionCount());

        Fd bad = Sockets.connect(uds.toString());
        cleanup.add(bad);
        Files.write(bad.num(), "CONNECT 99999999999\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals("ERROR expected CONNECT <port> with a port of 0 to 4294967295\n", hostReadToEof(bad));
    }

    @Test
    void aTransportResetDropsEveryConnectionAndTellsTheDriverOnTheEventQueue() throws Exception {
        Fd established = (Fd) hostConnect(52, 65536)[0];
        Fd waiting = Sockets.connect(uds.toString());
        cleanup.add(waiting);
        Files.write(waiting.num(), "CONNECT 53\n".getBytes(StandardCharsets.US_ASCII));
        await("REQUEST", r -> r.header().op() == VsockPacket.OP_REQUEST && r.header().dstPort() == 53);
        assertEquals(2, vsock.connectionCount());

        vsock.transportReset();
        assertEquals(0, vsock.connectionCount());
        assertEquals("", hostReadToEof(established), "an established host stream just ends");
        assertEquals("ERROR the vsock transport was reset before the guest answered\n", hostReadToEof(waiting));
        assertEquals(0, vsock.transportResetsSent(), "no event buffer posted yet: the event waits");

        long small = driver.alloc(2, 16);
        long big = driver.alloc(8, 16);
        memory.write(big, new byte[] {9, 9, 9, 9, 9, 9, 9, 9});
        int smallId = events.post(List.of(), List.of(new TestDriver.Buf(small, 2)), false);
        int bigId = events.post(List.of(), List.of(new TestDriver.Buf(big, 8)), false);
        events.kick();
        List<TestDriver.Used> used = events.collect();
        assertEquals(List.of(new TestDriver.Used(smallId, 0), new TestDriver.Used(bigId, 4)), used,
                "a buffer too small for the event is handed back unused; the next holds it");
        assertArrayEquals(new byte[] {0, 0, 0, 0, 9, 9, 9, 9}, memory.read(big, 8), "id 0: TRANSPORT_RESET, 4 bytes");
        assertEquals(1, vsock.transportResetsSent());
        assertEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);

        // with a buffer already posted the event goes at once, and the device works on afterwards
        long next = driver.alloc(4, 16);
        int nextId = events.post(List.of(), List.of(new TestDriver.Buf(next, 4)), false);
        events.kick();
        assertTrue(events.collect().isEmpty(), "no event, no used buffer");
        vsock.transportReset();
        assertEquals(List.of(new TestDriver.Used(nextId, 4)), events.collect());
        assertEquals(2, vsock.transportResetsSent());
        Fd again = (Fd) hostConnect(54, 65536)[0];
        Files.write(again.num(), "after".getBytes(StandardCharsets.US_ASCII));
        assertEquals("after", new String(await("RW", r -> r.header().op() == VsockPacket.OP_RW
                && r.header().dstPort() == 54).data(), StandardCharsets.US_ASCII));
    }

    @Test
    void hostDataToTheGuestNeverExceedsTheGuestsCredit() throws Exception {
        Object[] c = hostConnect(60, 8);
        Fd host = (Fd) c[0];
        long local = (long) c[1];
        Files.write(host.num(), "0123456789abcdefghij".getBytes(StandardCharsets.US_ASCII));
        Rx first = await("first 8 bytes", op(VsockPacket.OP_RW, local, 60));
        assertEquals("01234567", new String(first.data(), StandardCharsets.US_ASCII));
        for (int i = 0; i < 5; i++) {
            pump();
            Thread.sleep(5);
        }
        assertTrue(received.stream().noneMatch(r -> r.header().op() == VsockPacket.OP_RW), "no credit, no data");
        send(60, local, VsockPacket.OP_CREDIT_UPDATE, 0, 8, 8);
        assertEquals("89abcdef", new String(await("8 more", op(VsockPacket.OP_RW, local, 60)).data(),
                StandardCharsets.US_ASCII));
        send(60, local, VsockPacket.OP_CREDIT_UPDATE, 0, 8, 16);
        assertEquals("ghij", new String(await("the rest", op(VsockPacket.OP_RW, local, 60)).data(),
                StandardCharsets.US_ASCII));

        send(60, local, VsockPacket.OP_CREDIT_REQUEST, 0, 8, 20);
        Rx update = await("CREDIT_UPDATE", op(VsockPacket.OP_CREDIT_UPDATE, local, 60));
        assertEquals(VsockDevice.BUF_ALLOC, update.header().bufAlloc());
        assertEquals(0, update.header().fwdCnt(), "the guest sent no data yet");
        send(60, local, VsockPacket.OP_RST, 0, 8, 20);
        hostReadToEof(host); // RST from the guest closes the host stream
    }

    @Test
    void aGuestSendingBeyondItsCreditIsReset() throws Exception {
        Fd listener = Sockets.listen(uds + "_7000"); // accepts (the kernel does) but never reads
        cleanup.add(listener);
        cleanup.add(() -> java.nio.file.Files.deleteIfExists(Path.of(uds + "_7000")));
        send(99, 7000, VsockPacket.OP_REQUEST, 0, 65536, 0);
        await("RESPONSE", op(VsockPacket.OP_RESPONSE, 7000, 99));
        byte[] chunk = new byte[VsockDevice.MAX_PACKET_DATA];
        int sent = 0;
        while (received.stream().noneMatch(r -> r.header().op() == VsockPacket.OP_RST) && sent < 64) {
            sendData(99, 7000, chunk, 65536, 0);
            sent++;
            pump();
        }
        assertTrue(received.stream().anyMatch(r -> r.header().op() == VsockPacket.OP_RST),
                "RST after " + sent + " x 64 KiB into a stream nobody reads");
        assertTrue(sent > VsockDevice.BUF_ALLOC / VsockDevice.MAX_PACKET_DATA, "not before the credit ran out");
        assertEquals(0, vsock.connectionCount());
    }

    @Test
    void hostilePacketsGetResetOrAreDroppedNeverAnException() throws Exception {
        send(1, 2000, VsockPacket.OP_RW, 0, 0, 0);
        await("RST for data on no connection", op(VsockPacket.OP_RST, 2000, 1));
        send(2, 2001, VsockPacket.OP_REQUEST, 0, 4096, 0);
        await("RST for a port nothing listens on", op(VsockPacket.OP_RST, 2001, 2));
        send(new VsockPacket(CID, VsockDevice.HOST_CID, 3, 2002, 0, 2, VsockPacket.OP_REQUEST, 0, 0, 0), new byte[0]);
        await("RST for SOCK_SEQPACKET", op(VsockPacket.OP_RST, 2002, 3));
        send(packet(4, 2003, VsockPacket.OP_RW, 0, 1000, 0, 0), new byte[10]);
        await("RST for a length beyond the buffers", op(VsockPacket.OP_RST, 2003, 4));
        send(new VsockPacket(CID, 77, 5, 2004, 0, 1, VsockPacket.OP_REQUEST, 0, 0, 0), new byte[0]);
        await("RST for a CID other than the host's", op(VsockPacket.OP_RST, 2004, 5));
        send(packet(6, 2005, 99, 0, 0, 0, 0), new byte[0]);
        await("RST for an unknown op", op(VsockPacket.OP_RST, 2005, 6));
        long before = vsock.resetsSent();
        send(new VsockPacket(CID + 1, VsockDevice.HOST_CID, 7, 2006, 0, 1, VsockPacket.OP_REQUEST, 0, 0, 0),
                new byte[0]);
        send(1, 2000, VsockPacket.OP_RST, 0, 0, 0); // RST for nothing: no answer
        long h = driver.alloc(20, 16);
        tx.post(List.of(new TestDriver.Buf(h, 20)), List.of(), false); // half a header
        tx.kick();
        assertEquals(1, tx.collect().size());
        pump();
        assertEquals(before, vsock.resetsSent(), "forged source, RST and short header: dropped silently");
        assertEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);

        Fd bad = Sockets.connect(uds.toString());
        cleanup.add(bad);
        Files.write(bad.num(), "HELLO 5\n".getBytes(StandardCharsets.US_ASCII));
        hostReadToEof(bad); // a bad CONNECT line closes the host stream
        assertEquals(0, vsock.connectionCount());
    }

    @Test
    void badConfigurationIsRefusedByName() throws Exception {
        IllegalArgumentException cid = assertThrows(IllegalArgumentException.class,
                () -> VsockDevice.open(2, dir.resolve("other.sock")));
        assertTrue(cid.getMessage().contains("guest CID 2"), cid.getMessage());
        IOException exists = assertThrows(IOException.class, () -> VsockDevice.open(3, uds));
        assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VsockDevice.open(3, dir.resolve("x".repeat(120))));
        assertFalse(java.nio.file.Files.exists(dir.resolve("other.sock")));
    }
}
