package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.vessel.linux.Fd;
import io.vessel.linux.Sockets;
import io.vessel.linux.Tun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Thousands of random and hostile rings, descriptor chains and register writes against every
 * device (seeded, so a failure reproduces). After each round: no exception escaped, the device
 * either completed requests, failed them with a status, or set DEVICE_NEEDS_RESET; used ids are
 * inside the queue; a canary region of guest RAM that no device-writable buffer, ring or table
 * covers is unchanged; the disk file keeps its size (and, read-only, its bytes).
 *
 * <p>Guest RAM layout: rings at {@link #DESC}/{@link #AVAIL}/{@link #USED}, indirect tables at
 * {@link #TABLES}, writable targets in {@link #DATA} and {@link #HIGH} (HIGH runs to the end of
 * RAM, so long buffers there fall off it), the canary in between. Readable buffers go anywhere.
 */
class VirtioFuzzTest {
    static final long RAM = 4 << 20;
    static final long DESC = 0x10000, AVAIL = 0x20000, USED = 0x30000;
    static final long TABLES = 0x80000, TABLES_END = 0x100000;
    static final long DATA = 0x100000, DATA_END = 0x200000;
    static final long CANARY = 0x200000, CANARY_END = 0x300000;
    static final long HIGH = 0x300000;
    static final byte CANARY_BYTE = (byte) 0xA5; // as descriptors: address 0xA5A5..., never RAM
    static final int ROUNDS = 3000;

    @TempDir
    Path dir;
    GuestMemory memory;

    @BeforeEach
    void setUp() throws Exception {
        memory = GuestMemory.x86(RAM);
        byte[] canary = new byte[(int) (CANARY_END - CANARY)];
        Arrays.fill(canary, CANARY_BYTE);
        memory.write(CANARY, canary);
    }

    @AfterEach
    void tearDown() {
        memory.close();
    }

    @Test
    void blockDeviceSurvivesHostileDrivers() throws Exception {
        Path image = disk();
        long size = Files.size(image);
        try (BlockDevice blk = BlockDevice.open(image, false, "fuzz")) {
            Outcome o = fuzz(blk, 11, true);
            assertEquals(size, Files.size(image));
            o.assertAllKinds();
        }
    }

    @Test
    void readOnlyBlockDeviceSurvivesHostileDriversAndKeepsItsBytes() throws Exception {
        Path image = disk();
        byte[] before = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(image));
        try (BlockDevice blk = BlockDevice.open(image, true, "fuzz-ro")) {
            Outcome o = fuzz(blk, 12, true);
            assertArrayEquals(before, MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(image)));
            o.assertAllKinds();
        }
    }

    @Test
    void rngSurvivesHostileDrivers() {
        Outcome o = fuzz(new RngDevice(), 13, false);
        assertTrue(o.completed > 0 && o.resets > 0, o.toString());
    }

    @Test
    void netDeviceSurvivesHostileDrivers() throws Exception {
        String missing = TestNetns.missingCapability();
        assumeTrue(missing == null, () -> "virtio-net needs a tap in a netns: " + missing);
        try (TestNetns ns = TestNetns.create()) {
            Tun.Tap tap = Tun.open("fuzz0", ns.path);
            NetDevice net;
            try {
                net = NetDevice.open(tap, FUZZ_MAC);
            } catch (IOException | RuntimeException e) {
                tap.close();
                throw e;
            }
            try (net) {
                ns.ip("addr", "add", "10.202.0.1/24", "dev", tap.name());
                ns.ip("link", "set", tap.name(), "up");
                Outcome o = fuzz(net, 14, Kind.NET, net::onTapReadable);
                System.out.println("fuzz NetDevice: " + net.stats());
                assertTrue(o.completed > 0 && o.resets > 0, o.toString());
                assertTrue(net.stats().txFrames() > 0 && net.stats().txDropped() > 0, net.stats().toString());
            }
        }
    }

    @Test
    void vsockDeviceSurvivesHostileDrivers() throws Exception {
        Path uds = dir.resolve("fuzz.sock");
        List<Fd> hostStreams = new ArrayList<>();
        // a listener that never accepts: guest connections queue in its backlog until it is full (then RST)
        try (VsockDevice vsock = VsockDevice.open(FUZZ_CID, uds); Fd listener = Sockets.listen(uds + "_5000")) {
            Random hostSide = new Random(16);
            Outcome o = fuzz(vsock, 15, Kind.VSOCK, () -> {
                if (hostSide.nextInt(40) == 0 && hostStreams.size() < 32) {
                    try {
                        Fd s = Sockets.connect(uds.toString());
                        hostStreams.add(s);
                        String line = hostSide.nextInt(5) == 0 ? "CONNECT x\n" : "CONNECT " + (1000 + hostSide.nextInt(4))
                                + "\n" + "data";
                        io.vessel.linux.Files.write(s.num(), line.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
                vsock.onHostEvents();
            });
            assertTrue(o.completed > 0 && o.resets > 0, o.toString());
            assertTrue(vsock.resetsSent() > 0, "hostile packets got RST");
        } finally {
            hostStreams.forEach(Fd::close);
            Files.deleteIfExists(Path.of(uds + "_5000"));
        }
        assertFalse(Files.exists(uds));
    }

    static final byte[] FUZZ_MAC = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01};
    static final long FUZZ_CID = 3;

    /** A frame to transmit: mostly an ARP request for the tap's address (the kernel answers on RX), or noise. */
    private static byte[] netFrame(Random r) {
        byte[] header = new byte[NetDevice.HEADER_BYTES];
        if (r.nextInt(6) == 0) {
            r.nextBytes(header);
        }
        byte[] frame = r.nextInt(4) == 0 ? new byte[r.nextInt(200)]
                : Frames.arpRequest(FUZZ_MAC, Frames.ip(10, 202, 0, 2 + r.nextInt(3)), Frames.ip(10, 202, 0, 1));
        if (frame.length < 42) {
            r.nextBytes(frame);
        }
        byte[] out = Arrays.copyOf(header, header.length + frame.length);
        System.arraycopy(frame, 0, out, header.length, frame.length);
        return out;
    }

    /** A vsock packet from the guest: plausible addresses and ops mostly, some of everything wrong. */
    private static byte[] vsockPacket(Random r) {
        long srcCid = r.nextInt(10) == 0 ? r.nextInt(5) : FUZZ_CID;
        long dstCid = r.nextInt(10) == 0 ? r.nextLong() : VsockDevice.HOST_CID;
        long srcPort = 1000 + r.nextInt(4);
        long dstPort = r.nextInt(4) == 0 ? (1L << 30) + r.nextInt(4) : 5000 + r.nextInt(2);
        int op = r.nextInt(9);
        int dataLength = op == VsockPacket.OP_RW ? r.nextInt(300) : 0;
        long len = r.nextInt(8) == 0 ? r.nextInt() & 0xFFFF_FFFFL : dataLength;
        int type = r.nextInt(10) == 0 ? r.nextInt(4) : VsockPacket.TYPE_STREAM;
        VsockPacket h = new VsockPacket(srcCid, dstCid, srcPort, dstPort, len, type, op, r.nextInt(4),
                r.nextBoolean() ? 65536 : r.nextInt() & 0xFFFF_FFFFL, r.nextInt(1000));
        byte[] data = new byte[dataLength];
        r.nextBytes(data);
        byte[] out = Arrays.copyOf(h.toBytes(), VsockPacket.HEADER_BYTES + dataLength);
        System.arraycopy(data, 0, out, VsockPacket.HEADER_BYTES, dataLength);
        return out;
    }

    private Path disk() throws Exception {
        Path image = dir.resolve("fuzz.img");
        byte[] content = new byte[256 * 1024];
        new Random(5).nextBytes(content);
        Files.write(image, content);
        return image;
    }

    /** What the rounds produced, to show that every path was reached. */
    static final class Outcome {
        int completed;
        int failed;
        int resets;

        void assertAllKinds() {
            assertTrue(completed > 0 && failed > 0 && resets > 0, toString());
        }

        @Override
        public String toString() {
            return "completed " + completed + ", failed " + failed + ", needs-reset " + resets;
        }
    }

    /** What a chain's readable bytes look like when the round writes a plausible request. */
    enum Kind { BLOCK, RNG, NET, VSOCK }

    /** Queue {@code q}'s rings: one page apart in the DESC, AVAIL and USED areas. */
    static long desc(int q) {
        return DESC + 0x1000L * q;
    }

    static long avail(int q) {
        return AVAIL + 0x1000L * q;
    }

    static long used(int q) {
        return USED + 0x1000L * q;
    }

    private Outcome fuzz(VirtioDevice device, long seed, boolean block) {
        if (device instanceof BlockDevice blk) {
            // the disk's workers serve requests asynchronously: most rounds wait for them, every
            // fourth does not, so that the next round's ring writes, resets and hostile register
            // values race requests still in flight
            int[] rounds = {0};
            Outcome o = fuzz(device, seed, Kind.BLOCK, () -> {
                if (rounds[0]++ % 4 != 3) {
                    awaitIdle(blk);
                }
            });
            awaitIdle(blk);
            return o;
        }
        return fuzz(device, seed, block ? Kind.BLOCK : Kind.RNG, () -> { });
    }

    private static void awaitIdle(BlockDevice blk) {
        try {
            assertTrue(blk.awaitIdle(java.time.Duration.ofSeconds(10)), "the disk's workers went idle");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The rounds against {@code device}; {@code host} runs after each (the event loop's turn: a
     * readable tap, Unix socket events).
     */
    private Outcome fuzz(VirtioDevice device, long seed, Kind kind, Runnable host) {
        boolean block = kind == Kind.BLOCK;
        Random r = new Random(seed);
        AtomicInteger interrupts = new AtomicInteger();
        MmioTransport transport = new MmioTransport(device, memory, interrupts::incrementAndGet);
        TestDriver driver = new TestDriver(transport, memory, interrupts, DESC);
        Outcome outcome = new Outcome();
        byte[] canary = memory.read(CANARY, (int) (CANARY_END - CANARY));
        int queues = device.queueMaxSizes().length;
        int size = 0;
        int[] availIdxs = new int[queues];
        int[] lastUseds = new int[queues];
        for (int round = 0; round < ROUNDS; round++) {
            String where = "seed " + seed + " round " + round;
            int status = driver.reg(MmioTransport.STATUS);
            if ((status & DeviceStatus.DEVICE_NEEDS_RESET) != 0) {
                outcome.resets++;
            }
            if ((status & DeviceStatus.DRIVER_OK) == 0 || (status & DeviceStatus.DEVICE_NEEDS_RESET) != 0) {
                size = setUp(driver, r, queues);
                java.util.Arrays.fill(availIdxs, 0);
                java.util.Arrays.fill(lastUseds, 0);
                if (size == 0) {
                    continue;
                }
            }
            int q = queues == 1 ? 0 : r.nextInt(queues);
            int availIdx = availIdxs[q];
            List<Long> statuses = new ArrayList<>();
            int chains = 1 + r.nextInt(8);
            for (int c = 0; c < chains; c++) {
                int head = r.nextInt(10) == 0 ? r.nextInt(0x10000) : r.nextInt(size);
                if (head < size) {
                    writeChain(r, desc(q), head, size, kind, statuses);
                }
                memory.writeU16(avail(q) + 4 + 2L * (availIdx % size), head);
                availIdx = (availIdx + 1) & 0xFFFF;
            }
            availIdxs[q] = availIdx;
            int published = r.nextInt(30) == 0 ? r.nextInt(0x10000) : availIdx;
            memory.writeU16(avail(q) + 2, published);
            memory.writeU16(avail(q), r.nextInt(4) == 0 ? AvailableRing.F_NO_INTERRUPT : 0);
            memory.writeU16(avail(q) + 4 + 2L * size, r.nextInt(0x10000)); // used_event
            if (r.nextInt(20) == 0) {
                randomRegisterWrite(driver, r);
            }
            driver.setReg(MmioTransport.QUEUE_NOTIFY, r.nextInt(40) == 0 ? r.nextInt() : q);
            host.run();
            if (r.nextInt(10) == 0) {
                byte[] cfg = new byte[1 + r.nextInt(8)];
                transport.read(MmioTransport.CONFIG + r.nextInt(128) - 8, cfg);
                transport.write(MmioTransport.CONFIG + r.nextInt(128), cfg);
            }

            for (int uq = 0; uq < queues; uq++) {
                int usedIdx = memory.readU16(used(uq) + 2);
                for (; lastUseds[uq] != usedIdx; lastUseds[uq] = (lastUseds[uq] + 1) & 0xFFFF) {
                    int id = memory.readU32(used(uq) + 4 + 8L * (lastUseds[uq] % size));
                    assertTrue(id >= 0 && id < size, where + ": queue " + uq + " used id " + id + " outside queue of "
                            + size);
                    outcome.completed++;
                }
            }
            for (long s : statuses) {
                int v = memory.readU8(s);
                if (v == BlockDevice.S_IOERR || v == BlockDevice.S_UNSUPP) {
                    outcome.failed++;
                }
            }
            if (round % 100 == 0 || round == ROUNDS - 1) {
                assertArrayEquals(canary, memory.read(CANARY, canary.length), where + ": canary changed");
            }
        }
        assertArrayEquals(canary, memory.read(CANARY, canary.length), "canary changed");
        System.out.println("fuzz " + device.getClass().getSimpleName() + " seed " + seed + ": " + outcome);
        return outcome;
    }

    /** Resets and sets the device up again, now and then with hostile queue values; returns the queue size. */
    private int setUp(TestDriver driver, Random r, int queues) {
        long offered = driver.deviceFeatures();
        long accept = offered & r.nextLong();
        if (r.nextInt(8) != 0) {
            accept |= Features.bit(Features.VERSION_1);
        }
        if (r.nextInt(20) == 0) {
            accept |= Features.bit(40); // not offered
        }
        if (!driver.negotiate(accept)) {
            return 0;
        }
        int size = 1 << r.nextInt(9);
        long desc = DESC, avail = AVAIL, used = USED;
        switch (r.nextInt(12)) {
            case 0 -> size = 1 + r.nextInt(300);
            case 1 -> desc = DESC + 8;
            case 2 -> used = RAM - 16;
            case 3 -> avail = -2L;
            case 4 -> desc = RAM + 0x10000;
            default -> {
            }
        }
        for (int q = 0; q < queues; q++) {
            memory.write(desc(q), new byte[16 * 256]);
            memory.write(avail(q), new byte[6 + 2 * 256]);
            memory.write(used(q), new byte[6 + 8 * 256]);
            long qd = desc + (desc == DESC ? desc(q) - DESC : 0);
            long qa = avail + (avail == AVAIL ? avail(q) - AVAIL : 0);
            long qu = used + (used == USED ? used(q) - USED : 0);
            driver.setReg(MmioTransport.QUEUE_SEL, q);
            driver.setReg(MmioTransport.QUEUE_NUM, size);
            driver.setReg(MmioTransport.QUEUE_DESC_LOW, (int) qd);
            driver.setReg(MmioTransport.QUEUE_DESC_HIGH, (int) (qd >>> 32));
            driver.setReg(MmioTransport.QUEUE_DRIVER_LOW, (int) qa);
            driver.setReg(MmioTransport.QUEUE_DRIVER_HIGH, (int) (qa >>> 32));
            driver.setReg(MmioTransport.QUEUE_DEVICE_LOW, (int) qu);
            driver.setReg(MmioTransport.QUEUE_DEVICE_HIGH, (int) (qu >>> 32));
            driver.setReg(MmioTransport.QUEUE_READY, 1);
        }
        driver.driverOk();
        int status = driver.reg(MmioTransport.STATUS);
        return (status & DeviceStatus.DRIVER_OK) != 0 && (status & DeviceStatus.DEVICE_NEEDS_RESET) == 0 ? size : 0;
    }

    private void randomRegisterWrite(TestDriver driver, Random r) {
        int offset = r.nextInt(0x40) * 4;
        if (offset >= MmioTransport.QUEUE_DESC_LOW && offset <= MmioTransport.QUEUE_DEVICE_HIGH) {
            return; // rings stay where the canary rule allows; hostile addresses are tried in setUp
        }
        driver.setReg(offset, r.nextInt(4) == 0 ? r.nextInt(16) : r.nextInt());
    }

    /**
     * Writes a chain from {@code head}: mostly a plausible request (header, data, status byte) with
     * random mutations, sometimes through an indirect table, sometimes plain garbage.
     */
    private void writeChain(Random r, long descTable, int head, int size, Kind kind, List<Long> statuses) {
        boolean block = kind == Kind.BLOCK;
        int mode = r.nextInt(10);
        if (mode == 0) {
            // garbage descriptors from head on
            int at = head;
            for (int i = 0; i < 1 + r.nextInt(6); i++) {
                int next = r.nextInt(size + 2);
                writeRandomDescriptor(r, descTable, at % size, next);
                at = next;
            }
            return;
        }
        List<long[]> parts = new ArrayList<>(); // {addr, len, flags}
        if (block) {
            long header = DATA + 16L * r.nextInt(1024);
            ByteBuffer h = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            int[] types = {BlockDevice.T_IN, BlockDevice.T_OUT, BlockDevice.T_FLUSH, BlockDevice.T_GET_ID,
                    BlockDevice.T_DISCARD, BlockDevice.T_WRITE_ZEROES, r.nextInt()};
            int type = types[r.nextInt(types.length)];
            long sector = switch (r.nextInt(4)) {
                case 0 -> r.nextLong();
                case 1 -> 500 + r.nextInt(24); // around the end of a 512-sector disk
                default -> r.nextInt(512);
            };
            h.putInt(0, type).putLong(8, sector);
            memory.write(header, h.array());
            parts.add(new long[] {header, r.nextInt(8) == 0 ? r.nextInt(16) : 16, 0});
            if (type == BlockDevice.T_DISCARD || type == BlockDevice.T_WRITE_ZEROES) {
                long seg = DATA + 0x40000 + 16L * r.nextInt(1024);
                memory.write(seg, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(0, r.nextBoolean() ? r.nextInt(520) : r.nextLong())
                        .putInt(8, r.nextBoolean() ? r.nextInt(64) : r.nextInt()).putInt(12, r.nextInt(3)).array());
                parts.add(new long[] {seg, 16 * (1 + (r.nextInt(6) == 0 ? 1 : 0)), 0});
            } else if (type == BlockDevice.T_OUT) {
                for (int i = 0; i < 1 + r.nextInt(3); i++) {
                    parts.add(new long[] {readableAddress(r), dataLength(r), 0});
                }
            } else {
                for (int i = 0; i < r.nextInt(3); i++) {
                    long len = dataLength(r);
                    parts.add(new long[] {writableAddress(r, len), len, Descriptor.F_WRITE});
                }
            }
            long status = DATA + 0x80000 + r.nextInt(0x1000);
            memory.writeU8(status, 0xFF);
            parts.add(new long[] {status, 1, Descriptor.F_WRITE});
            statuses.add(status);
        } else if (kind == Kind.RNG || r.nextBoolean()) {
            for (int i = 0; i < 1 + r.nextInt(4); i++) {
                long len = r.nextInt(6) == 0 ? dataLength(r) : 1 + r.nextInt(kind == Kind.RNG ? 128 : 2048);
                parts.add(new long[] {writableAddress(r, len), len, Descriptor.F_WRITE});
            }
        } else {
            byte[] packet = kind == Kind.NET ? netFrame(r) : vsockPacket(r);
            long at = DATA + 0xC0000 + r.nextInt(0x30000);
            memory.write(at, packet);
            int split = r.nextInt(packet.length + 1);
            parts.add(new long[] {at, split, 0});
            if (split < packet.length) {
                parts.add(new long[] {at + split, packet.length - split, 0});
            }
            if (r.nextInt(8) == 0) {
                parts.add(new long[] {readableAddress(r), dataLength(r), 0});
            }
        }
        if (r.nextInt(12) == 0 && parts.size() > 1) {
            parts.add(0, parts.remove(parts.size() - 1)); // a writable before readables
        }
        if (r.nextInt(3) == 0) {
            long table = TABLES + 16L * r.nextInt((int) ((TABLES_END - TABLES) / 16 - parts.size() - 1));
            for (int i = 0; i < parts.size(); i++) {
                long[] p = parts.get(i);
                int next = r.nextInt(25) == 0 ? r.nextInt(parts.size() + 2) : i + 1;
                int flags = (int) p[2] | (i + 1 < parts.size() ? Descriptor.F_NEXT : 0);
                if (r.nextInt(40) == 0) {
                    flags |= Descriptor.F_INDIRECT;
                }
                writeDescriptor(table, i, p[0], (int) p[1], flags, next);
            }
            int len = r.nextInt(15) == 0 ? r.nextInt(1000) : 16 * parts.size();
            long addr = r.nextInt(15) == 0 ? (r.nextBoolean() ? CANARY : RAM - 8) : table;
            writeDescriptor(descTable, head, addr, len, Descriptor.F_INDIRECT | (r.nextInt(20) == 0 ? Descriptor.F_NEXT : 0),
                    r.nextInt(size));
            return;
        }
        int at = head;
        for (int i = 0; i < parts.size(); i++) {
            long[] p = parts.get(i);
            int next = r.nextInt(25) == 0 ? r.nextInt(size + 2) : (at + 1 + r.nextInt(3)) % size;
            if (next == head && r.nextInt(2) == 0) {
                next = (next + 1) % size;
            }
            int flags = (int) p[2] | (i + 1 < parts.size() ? Descriptor.F_NEXT : 0);
            writeDescriptor(descTable, at, p[0], (int) p[1], flags, next);
            at = next % size;
        }
    }

    private long dataLength(Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> 0;
            case 1 -> r.nextInt(1 << 20);
            case 2 -> 0xFFFF_FFFFL;
            case 3 -> 1 + r.nextInt(1000);
            default -> 512L * (1 + r.nextInt(16));
        };
    }

    /** An address anywhere: RAM regions (canary included), the end of RAM, beyond it, near 2^64. */
    private long readableAddress(Random r) {
        return switch (r.nextInt(7)) {
            case 0 -> CANARY + r.nextInt((int) (CANARY_END - CANARY));
            case 1 -> RAM - r.nextInt(64);
            case 2 -> RAM + r.nextInt(1 << 20);
            case 3 -> -1L - r.nextInt(4096);
            case 4 -> TABLES + r.nextInt(0x1000);
            default -> DATA + r.nextInt((int) (DATA_END - DATA));
        };
    }

    /** An address for a writable buffer of {@code len} bytes that cannot cover the canary, tables or rings. */
    private long writableAddress(Random r, long len) {
        return switch (r.nextInt(6)) {
            case 0 -> HIGH + r.nextInt((int) (RAM - HIGH));
            case 1 -> RAM + r.nextInt(1 << 20);
            case 2 -> -1L - r.nextInt(4096);
            default -> len <= DATA_END - DATA ? DATA + r.nextLong(DATA_END - DATA - len + 1) : HIGH;
        };
    }

    private void writeRandomDescriptor(Random r, long table, int index, int next) {
        int flags = r.nextInt(8);
        long len = dataLength(r);
        long addr = (flags & Descriptor.F_WRITE) != 0 ? writableAddress(r, len) : readableAddress(r);
        if ((flags & Descriptor.F_INDIRECT) != 0) {
            addr = r.nextBoolean() ? TABLES + 16L * r.nextInt(256) : readableAddress(r);
        }
        writeDescriptor(table, index, addr, (int) len, flags, next);
    }

    private void writeDescriptor(long table, int i, long addr, int len, int flags, int next) {
        long at = table + 16L * i;
        memory.writeU64(at, addr);
        memory.writeU32(at + 8, len);
        memory.writeU16(at + 12, flags);
        memory.writeU16(at + 14, next);
    }
}
