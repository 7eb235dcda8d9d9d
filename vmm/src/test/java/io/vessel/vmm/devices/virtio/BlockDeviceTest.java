package io.vessel.vmm.devices.virtio;

import io.vessel.linux.UserFaultFd;
import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.ratelimit.RateLimiter;
import io.vessel.vmm.ratelimit.RefillTimer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockDeviceTest {
    static final long ALL_RING = Features.bit(Features.VERSION_1) | Features.bit(Features.INDIRECT_DESC)
            | Features.bit(Features.EVENT_IDX);
    static final int DISK_BYTES = 1 << 20;
    /**
     * Guest RAM is advised to use 2 MiB pages: a buffer a test wants untouched starts a 2 MiB
     * range of its own, or an earlier touch nearby may have brought in its whole huge page.
     */
    static final long HUGE_PAGE = 2 << 20;

    @TempDir
    Path dir;
    Path image;
    GuestMemory memory;
    BlockDevice disk;
    MmioTransport transport;
    TestDriver driver;
    AtomicInteger interrupts = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        image = dir.resolve("disk.img");
        byte[] content = new byte[DISK_BYTES];
        new Random(1).nextBytes(content);
        Files.write(image, content);
        memory = GuestMemory.x86(16 << 20);
    }

    @AfterEach
    void tearDown() {
        if (disk != null) {
            disk.close();
        }
        memory.close();
    }

    TestDriver.Queue start(boolean readOnly, long features) throws Exception {
        return start(readOnly, features, RateLimiter.UNLIMITED, RefillTimer.shared());
    }

    TestDriver.Queue start(boolean readOnly, long features, RateLimiter limiter, RefillTimer timer) throws Exception {
        return start(readOnly, features, limiter, timer, BlockDevice.DEFAULT_WORKERS);
    }

    TestDriver.Queue start(boolean readOnly, long features, RateLimiter limiter, RefillTimer timer, int workers)
            throws Exception {
        disk = BlockDevice.open(image, readOnly, "vessel-disk-0", limiter, timer, workers);
        transport = new MmioTransport(disk, memory, interrupts::incrementAndGet);
        driver = new TestDriver(transport, memory, interrupts, 0x10000);
        long offered = driver.deviceFeatures();
        long accepted = offered & (features | 0xFFFF_FFFFL & ~(Features.bit(Features.INDIRECT_DESC)
                | Features.bit(Features.EVENT_IDX)));
        assertTrue(driver.negotiate(accepted));
        TestDriver.Queue q = driver.queue(0, 256, accepted);
        driver.driverOk();
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK,
                driver.reg(MmioTransport.STATUS));
        return q;
    }

    /** A posted request and where its data and status live in guest memory. */
    record Pending(int head, long data, int dataLength, long status) {
    }

    Pending post(TestDriver.Queue q, int type, long sector, byte[] out, int inLength, boolean indirect, int segments) {
        long header = driver.alloc(16, 16);
        ByteBuffer h = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(0, type).putLong(8, sector);
        memory.write(header, h.array());
        int dataLength = out != null ? out.length : inLength;
        long data = driver.alloc(Math.max(dataLength, 1), 512);
        if (out != null) {
            memory.write(data, out);
        }
        long status = driver.alloc(1, 1);
        memory.writeU8(status, 0xFF);
        List<TestDriver.Buf> bufs = new ArrayList<>();
        int per = dataLength == 0 ? 0 : dataLength / segments;
        for (int i = 0; i < segments && dataLength > 0; i++) {
            int len = i == segments - 1 ? dataLength - per * i : per;
            bufs.add(new TestDriver.Buf(data + (long) per * i, len));
        }
        List<TestDriver.Buf> readable = new ArrayList<>(List.of(new TestDriver.Buf(header, 16)));
        List<TestDriver.Buf> writable = new ArrayList<>();
        if (out != null) {
            readable.addAll(bufs);
        } else {
            writable.addAll(bufs);
        }
        writable.add(new TestDriver.Buf(status, 1));
        int head = q.post(readable, writable, indirect);
        return new Pending(head, data, dataLength, status);
    }

    /** Waits until the device's workers have served everything notified (they complete asynchronously). */
    void settle() throws InterruptedException {
        assertTrue(disk.awaitIdle(Duration.ofSeconds(10)), "the device went idle");
    }

    Map<Integer, Integer> complete(TestDriver.Queue q) throws InterruptedException {
        q.kick();
        settle();
        Map<Integer, Integer> lengths = new HashMap<>();
        for (TestDriver.Used u : q.collect()) {
            lengths.put(u.id(), u.length());
        }
        return lengths;
    }

    int status(Pending p) {
        return memory.readU8(p.status());
    }

    static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    @Test
    void announcesItselfAndItsGeometry() throws Exception {
        start(false, ALL_RING);
        assertEquals(MmioTransport.MAGIC, driver.reg(MmioTransport.MAGIC_VALUE));
        assertEquals(2, driver.reg(MmioTransport.VERSION));
        assertEquals(BlockDevice.DEVICE_TYPE, driver.reg(MmioTransport.DEVICE_ID));
        byte[] capacity = new byte[8];
        transport.read(MmioTransport.CONFIG, capacity);
        assertEquals(DISK_BYTES / 512, ByteBuffer.wrap(capacity).order(ByteOrder.LITTLE_ENDIAN).getLong());
        byte[] blkSize = new byte[4];
        transport.read(MmioTransport.CONFIG + 20, blkSize);
        assertEquals(512, ByteBuffer.wrap(blkSize).order(ByteOrder.LITTLE_ENDIAN).getInt());
        assertFalse(Features.has(driver.deviceFeatures(), BlockDevice.F_RO));
    }

    @Test
    void guestWritesLandInTheFileAndFileDataReachesTheGuest() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING);
        Random random = new Random(2);
        int requests = 48;
        int size = 8192;
        List<Pending> writes = new ArrayList<>();
        byte[] expected = Files.readAllBytes(image);
        for (int i = 0; i < requests; i++) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            long sector = (long) i * (size / 512) * 2; // every other 8 KiB block
            System.arraycopy(data, 0, expected, (int) sector * 512, size);
            writes.add(post(q, BlockDevice.T_OUT, sector, data, 0, i % 2 == 0, 1 + i % 4));
        }
        Map<Integer, Integer> done = complete(q); // all 48 in flight, one kick
        assertEquals(requests, done.size());
        for (Pending p : writes) {
            assertEquals(BlockDevice.S_OK, status(p));
            assertEquals(1, done.get(p.head()));
        }
        assertArrayEquals(sha256(expected), sha256(Files.readAllBytes(image)));

        // the other way: the host changes the file, the guest reads it
        byte[] host = new byte[64 * 1024];
        random.nextBytes(host);
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(host), 4096 * 512L / 8);
        }
        List<Pending> reads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            reads.add(post(q, BlockDevice.T_IN, 4096 / 8 + i * 16L, null, 8192, i % 2 == 1, 1 + i % 3));
        }
        done = complete(q);
        byte[] got = new byte[host.length];
        for (int i = 0; i < reads.size(); i++) {
            Pending p = reads.get(i);
            assertEquals(BlockDevice.S_OK, status(p));
            assertEquals(8192 + 1, done.get(p.head()));
            System.arraycopy(memory.read(p.data(), 8192), 0, got, i * 8192, 8192);
        }
        assertArrayEquals(sha256(host), sha256(got));
    }

    @Test
    void readOnlyDiskRefusesWritesAndDiscards() throws Exception {
        byte[] before = Files.readAllBytes(image);
        TestDriver.Queue q = start(true, ALL_RING);
        assertTrue(Features.has(driver.deviceFeatures(), BlockDevice.F_RO));
        Pending write = post(q, BlockDevice.T_OUT, 0, new byte[512], 0, false, 1);
        Pending read = post(q, BlockDevice.T_IN, 0, null, 512, false, 1);
        complete(q);
        assertEquals(BlockDevice.S_IOERR, status(write));
        assertEquals(BlockDevice.S_OK, status(read));
        assertArrayEquals(Arrays.copyOf(before, 512), memory.read(read.data(), 512));
        assertArrayEquals(before, Files.readAllBytes(image));
    }

    @Test
    void flushGetIdDiscardAndWriteZeroes() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING);
        Pending flush = post(q, BlockDevice.T_FLUSH, 0, null, 0, false, 1);
        Pending id = post(q, BlockDevice.T_GET_ID, 0, null, BlockDevice.ID_BYTES, false, 1);
        Pending discard = post(q, BlockDevice.T_DISCARD, 0, segment(8, 8, 0), 0, false, 1);
        Pending zeroes = post(q, BlockDevice.T_WRITE_ZEROES, 0, segment(100, 3, 0), 0, false, 1);
        Pending discardUnmap = post(q, BlockDevice.T_DISCARD, 0, segment(8, 8, 1), 0, false, 1);
        Map<Integer, Integer> done = complete(q);
        assertEquals(BlockDevice.S_OK, status(flush));
        assertEquals(1, done.get(flush.head()));
        assertEquals(BlockDevice.S_OK, status(id));
        assertEquals(BlockDevice.ID_BYTES + 1, done.get(id.head()));
        assertArrayEquals(Arrays.copyOf("vessel-disk-0".getBytes(), 20), memory.read(id.data(), 20));
        assertEquals(BlockDevice.S_OK, status(discard));
        assertEquals(BlockDevice.S_OK, status(zeroes));
        assertEquals(BlockDevice.S_UNSUPP, status(discardUnmap));
        byte[] file = Files.readAllBytes(image);
        assertArrayEquals(new byte[8 * 512], Arrays.copyOfRange(file, 8 * 512, 16 * 512));
        assertArrayEquals(new byte[3 * 512], Arrays.copyOfRange(file, 100 * 512, 103 * 512));
        assertFalse(Arrays.equals(new byte[512], Arrays.copyOfRange(file, 103 * 512, 104 * 512)));
        assertEquals(DISK_BYTES, file.length);
    }

    static byte[] segment(long sector, int sectors, int flags) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, sector).putInt(8, sectors)
                .putInt(12, flags).array();
    }

    @Test
    void badRequestsFailWithoutStoppingTheDevice() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING);
        long last = DISK_BYTES / 512 - 1;
        Pending pastEnd = post(q, BlockDevice.T_IN, last, null, 1024, false, 1);
        Pending hugeSector = post(q, BlockDevice.T_OUT, Long.MAX_VALUE, new byte[512], 0, false, 1);
        Pending partial = post(q, BlockDevice.T_IN, 0, null, 100, false, 1);
        Pending unknown = post(q, 77, 0, null, 512, false, 1);
        Pending lastSector = post(q, BlockDevice.T_IN, last, null, 512, false, 1);
        complete(q);
        assertEquals(BlockDevice.S_IOERR, status(pastEnd));
        assertEquals(BlockDevice.S_IOERR, status(hugeSector));
        assertEquals(BlockDevice.S_IOERR, status(partial));
        assertEquals(BlockDevice.S_UNSUPP, status(unknown));
        assertEquals(BlockDevice.S_OK, status(lastSector));
        assertEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
    }

    @Test
    void eventIndexSuppressesInterruptsUntilTheDriverAsks() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING);
        post(q, BlockDevice.T_FLUSH, 0, null, 0, false, 1);
        assertTrue(q.kick());
        settle();
        assertEquals(1, interrupts.get());
        // the driver has not moved used_event: the next completion raises no interrupt
        post(q, BlockDevice.T_FLUSH, 0, null, 0, false, 1);
        q.kick();
        settle();
        assertEquals(1, interrupts.get());
        assertEquals(2, q.collect().size()); // sets used_event to 2
        post(q, BlockDevice.T_FLUSH, 0, null, 0, false, 1);
        q.kick();
        settle();
        assertEquals(2, interrupts.get());
    }

    @Test
    void noInterruptFlagSuppressesInterruptsWithoutEventIndex() throws Exception {
        TestDriver.Queue q = start(false, Features.bit(Features.VERSION_1));
        q.suppressInterrupts(true);
        post(q, BlockDevice.T_FLUSH, 0, null, 0, false, 1);
        q.kick();
        settle();
        assertEquals(0, interrupts.get());
        q.suppressInterrupts(false);
        post(q, BlockDevice.T_FLUSH, 0, null, 0, false, 1);
        q.kick();
        settle();
        assertEquals(1, interrupts.get());
        assertEquals(2, q.collect().size());
    }

    @Test
    void fillsTheWholeQueueAgainAndAgainAcrossIndexWrap() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING);
        int total = 0;
        // 600 rounds of 128 requests: the 16-bit indexes wrap past 65535
        for (int round = 0; round < 600; round++) {
            for (int i = 0; i < 128; i++) {
                q.post(List.of(new TestDriver.Buf(0x9000, 16)), List.of(new TestDriver.Buf(0x9100, 1)), false);
            }
            memory.write(0x9000, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(0, BlockDevice.T_GET_ID)
                    .array());
            q.kick();
            settle();
            total += q.collect().size();
        }
        assertEquals(600 * 128, total);
        assertEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
    }

    /** A disk image of {@code bytes} random bytes (seeded) in place of the default one. */
    byte[] bigImage(int bytes, int seed) throws Exception {
        byte[] content = new byte[bytes];
        new Random(seed).nextBytes(content);
        Files.write(image, content);
        return content;
    }

    @Test
    void manyRequestsInFlightOnSeveralWorkersAllCompleteWithTheRightBytes() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING, RateLimiter.UNLIMITED, RefillTimer.shared(), 4);
        assertEquals(4, disk.workers().size());
        byte[] expected = Files.readAllBytes(image);
        Random random = new Random(3);
        int block = 4096;
        List<Pending> writes = new ArrayList<>();
        List<Pending> reads = new ArrayList<>();
        List<Integer> readBlocks = new ArrayList<>();
        // 200 requests at once (indirect: one descriptor each): writes to even 4 KiB blocks, reads of odd ones
        for (int i = 0; i < 200; i++) {
            if (i % 2 == 0) { // block i, even
                byte[] data = new byte[block];
                random.nextBytes(data);
                System.arraycopy(data, 0, expected, i * block, block);
                writes.add(post(q, BlockDevice.T_OUT, (long) i * block / 512, data, 0, true, 1 + i % 3));
            } else {
                int odd = 255 - i / 2 * 2; // 255, 253, ...: never written
                readBlocks.add(odd);
                reads.add(post(q, BlockDevice.T_IN, (long) odd * block / 512, null, block, true, 1 + i % 5));
            }
        }
        Map<Integer, Integer> done = complete(q);
        assertEquals(200, done.size());
        for (Pending p : writes) {
            assertEquals(BlockDevice.S_OK, status(p));
            assertEquals(1, done.get(p.head()));
        }
        byte[] file = Files.readAllBytes(image);
        assertArrayEquals(sha256(expected), sha256(file));
        for (int i = 0; i < reads.size(); i++) {
            Pending p = reads.get(i);
            assertEquals(BlockDevice.S_OK, status(p));
            assertEquals(block + 1, done.get(p.head()));
            int at = readBlocks.get(i) * block;
            assertArrayEquals(Arrays.copyOfRange(file, at, at + block), memory.read(p.data(), block),
                    "read of block " + readBlocks.get(i));
        }
        assertEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
    }

    /**
     * Posts a request whose data buffer is {@code length} bytes at {@code data} (device-readable for
     * OUT, device-writable for IN), without touching that memory.
     */
    Pending postAt(TestDriver.Queue q, int type, long sector, long data, int length) {
        long header = driver.alloc(16, 16);
        memory.write(header, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(0, type).putLong(8, sector)
                .array());
        long status = driver.alloc(1, 1);
        memory.writeU8(status, 0xFF);
        TestDriver.Buf buffer = new TestDriver.Buf(data, length);
        TestDriver.Buf statusBuf = new TestDriver.Buf(status, 1);
        int head = type == BlockDevice.T_OUT
                ? q.post(List.of(new TestDriver.Buf(header, 16), buffer), List.of(statusBuf), false)
                : q.post(List.of(new TestDriver.Buf(header, 16)), List.of(buffer, statusBuf), false);
        return new Pending(head, data, length, status);
    }

    /** Polls the used index until the device has returned {@code count} chains in all (10 s at most). */
    void awaitUsedIndex(TestDriver.Queue q, int count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (memory.readU16(q.used + 2) < count) {
            assertTrue(System.nanoTime() < deadline, "the device did not return " + count + " chains");
            Thread.sleep(5);
        }
    }

    long workersCpuNanos() {
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long total = 0;
        for (Thread t : disk.workers()) {
            total += Math.max(0, threads.getThreadCpuTime(t.threadId()));
        }
        return total;
    }

    /**
     * Guest pages the device's next access to will hold it inside the kernel (a userfaultfd on
     * them), so that a test decides when a request in flight may finish.
     */
    UserFaultFd holdOn(long data, int length) throws Exception {
        UserFaultFd uffd = UserFaultFd.create();
        try {
            uffd.registerMissing(memory.slice(data, length));
        } catch (Exception e) {
            uffd.close();
            throw e;
        }
        return uffd;
    }

    @Test
    void flushWaitsForTheWritesTakenBeforeIt() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING, RateLimiter.UNLIMITED, RefillTimer.shared(), 4);
        int length = 64 * 1024;
        long data = driver.alloc(length, HUGE_PAGE); // never touched: zero pages once let go
        Pending write;
        Pending flush;
        Pending read;
        try (UserFaultFd uffd = holdOn(data, length)) {
            write = postAt(q, BlockDevice.T_OUT, 64, data, length);
            flush = post(q, BlockDevice.T_FLUSH, 0, null, 0, false, 1);
            read = post(q, BlockDevice.T_IN, 0, null, 4096, false, 1);
            q.kick();
            assertTrue(uffd.awaitFault(10_000).isPresent(), "the write's pwritev did not reach guest memory");
            awaitUsedIndex(q, 1); // the read, taken after the flush, completes meanwhile
            long cpuBefore = workersCpuNanos();
            Thread.sleep(100);
            long spent = workersCpuNanos() - cpuBefore;
            assertTrue(spent < 30_000_000L, "the waiting workers used " + spent / 1000 + " us of CPU in 100 ms: a busy loop");
            List<TestDriver.Used> used = q.collect();
            assertEquals(List.of(read.head()), used.stream().map(TestDriver.Used::id).toList(),
                    "only the read may complete while the write is held");
            assertEquals(0xFF, status(flush), "the flush completed before the write it must follow");
        } // the write goes on
        settle();
        List<Integer> rest = q.collect().stream().map(TestDriver.Used::id).toList();
        assertEquals(List.of(write.head(), flush.head()), rest);
        assertEquals(BlockDevice.S_OK, status(write));
        assertEquals(BlockDevice.S_OK, status(flush));
        assertEquals(BlockDevice.S_OK, status(read));
        assertArrayEquals(new byte[length], Arrays.copyOfRange(Files.readAllBytes(image), 64 * 512, 64 * 512 + length));
    }

    @Test
    void resetWaitsForTheRequestInFlightAndDropsItsCompletion() throws Exception {
        int mib = 1 << 20;
        byte[] content = bigImage(4 * mib, 6);
        TestDriver.Queue q = start(true, ALL_RING, RateLimiter.UNLIMITED, RefillTimer.shared(), 2);
        int length = 64 * 1024;
        long data = driver.alloc(length, HUGE_PAGE);
        Thread reset;
        try (UserFaultFd uffd = holdOn(data, length)) {
            postAt(q, BlockDevice.T_IN, 8, data, length);
            q.kick();
            assertTrue(uffd.awaitFault(10_000).isPresent(), "the read's preadv did not reach guest memory");
            reset = Thread.ofPlatform().name("test-driver-reset").start(() -> driver.setReg(MmioTransport.STATUS, 0));
            reset.join(200);
            assertTrue(reset.isAlive(), "the reset returned while a request was still writing guest memory");
        } // the read goes on, and then the reset
        reset.join(10_000);
        assertFalse(reset.isAlive(), "the reset did not return once the request was let go");
        assertEquals(0, driver.reg(MmioTransport.STATUS));
        assertTrue(disk.awaitIdle(Duration.ZERO), "a request was still in flight after the reset returned");
        assertEquals(0, memory.readU16(q.used + 2), "a request of the device's past life was returned to the ring");
        assertArrayEquals(Arrays.copyOfRange(content, 8 * 512, 8 * 512 + length), memory.read(data, length),
                "the held read finished before the reset returned");

        // the driver sets the device up again: it serves as before
        long accepted = driver.deviceFeatures() & ALL_RING;
        assertTrue(driver.negotiate(accepted));
        TestDriver.Queue again = driver.queue(0, 256, accepted);
        driver.driverOk();
        Pending read = post(again, BlockDevice.T_IN, 3L * mib / 512, null, 8192, false, 2);
        Map<Integer, Integer> done = complete(again);
        assertEquals(8192 + 1, done.get(read.head()));
        assertEquals(BlockDevice.S_OK, status(read));
        assertArrayEquals(Arrays.copyOfRange(content, 3 * mib, 3 * mib + 8192), memory.read(read.data(), 8192));
    }

    @Test
    void aHeaderSharingItsBufferWithDataAndAFileThatShrankAreServed() throws Exception {
        byte[] content = Files.readAllBytes(image);
        TestDriver.Queue q = start(false, ALL_RING);
        // OUT whose header and 1 KiB of data are one buffer, followed by 1 KiB more in a second one
        byte[] data = new byte[2048];
        new Random(9).nextBytes(data);
        long at = driver.alloc(16 + 1024, 16);
        memory.write(at, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(0, BlockDevice.T_OUT)
                .putLong(8, 40).array());
        memory.write(at + 16, Arrays.copyOf(data, 1024));
        long more = driver.alloc(1024, 512);
        memory.write(more, Arrays.copyOfRange(data, 1024, 2048));
        long status = driver.alloc(1, 1);
        memory.writeU8(status, 0xFF);
        q.post(List.of(new TestDriver.Buf(at, 16 + 1024), new TestDriver.Buf(more, 1024)),
                List.of(new TestDriver.Buf(status, 1)), false);
        complete(q);
        assertEquals(BlockDevice.S_OK, memory.readU8(status));
        assertArrayEquals(data, Arrays.copyOfRange(Files.readAllBytes(image), 40 * 512, 40 * 512 + 2048));

        // the host truncates the image to 64 KiB; a read across the new end gets the file, then zeros
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(64 * 1024);
        }
        Pending read = post(q, BlockDevice.T_IN, 64 * 1024 / 512 - 4, null, 8192, false, 3);
        byte[] dirty = new byte[8192];
        Arrays.fill(dirty, (byte) 0x5A);
        memory.write(read.data(), dirty); // what the guest's buffer held: the zeros must be written, not assumed
        Map<Integer, Integer> done = complete(q);
        assertEquals(BlockDevice.S_OK, status(read));
        assertEquals(8192 + 1, done.get(read.head()));
        byte[] expected = new byte[8192];
        System.arraycopy(content, 64 * 1024 - 2048, expected, 0, 2048);
        assertArrayEquals(expected, memory.read(read.data(), 8192));
    }

    @Test
    void adjacentRequestsMoveTogetherAndAnythingElseEndsTheRun() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING, RateLimiter.UNLIMITED, RefillTimer.shared(), 2);
        int length = 64 * 1024;
        long held = driver.alloc(length, HUGE_PAGE);
        byte[] second = new byte[4096];
        new Random(10).nextBytes(second);
        Pending a;
        Pending b;
        Pending id;
        Pending c;
        Pending d;
        try (UserFaultFd uffd = holdOn(held, length)) {
            a = postAt(q, BlockDevice.T_OUT, 256, held, length); // sectors 256..383, its pages held
            b = post(q, BlockDevice.T_OUT, 384, second, 0, false, 2); // continues a: moves with it
            id = post(q, BlockDevice.T_GET_ID, 0, null, BlockDevice.ID_BYTES, false, 1); // ends the run
            c = post(q, BlockDevice.T_IN, 0, null, 4096, false, 1);
            d = post(q, BlockDevice.T_IN, 8, null, 4096, true, 3); // continues c
            q.kick();
            assertTrue(uffd.awaitFault(10_000).isPresent(), "the write's pwritev did not reach guest memory");
            awaitUsedIndex(q, 3); // the other worker serves GET_ID and the two reads meanwhile
            Thread.sleep(100);
            List<Integer> used = q.collect().stream().map(TestDriver.Used::id).toList();
            assertEquals(3, used.size(), "completed while the write was held: " + used);
            assertTrue(used.containsAll(List.of(id.head(), c.head(), d.head())), used.toString());
            assertEquals(0xFF, status(b), "the write that continues the held one moves with it, so it waits too");
        }
        settle();
        List<Integer> rest = q.collect().stream().map(TestDriver.Used::id).toList();
        assertEquals(List.of(a.head(), b.head()), rest);
        byte[] file = Files.readAllBytes(image);
        assertArrayEquals(new byte[length], Arrays.copyOfRange(file, 256 * 512, 256 * 512 + length));
        assertArrayEquals(second, Arrays.copyOfRange(file, 384 * 512, 384 * 512 + 4096));
        assertArrayEquals(Arrays.copyOfRange(file, 0, 8192),
                concat(memory.read(c.data(), 4096), memory.read(d.data(), 4096)));
        for (Pending p : List.of(a, b, id, c, d)) {
            assertEquals(BlockDevice.S_OK, status(p));
        }
    }

    @Test
    void adjacentReadsAcrossTheEndOfAShrunkenFileGetZerosAfterIt() throws Exception {
        byte[] content = Files.readAllBytes(image);
        TestDriver.Queue q = start(false, ALL_RING, RateLimiter.UNLIMITED, RefillTimer.shared(), 1);
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(10 * 1024); // the end falls inside the second of three 8 KiB reads from 0
        }
        List<Pending> reads = new ArrayList<>();
        byte[] dirty = new byte[8192];
        Arrays.fill(dirty, (byte) 0x5A);
        for (int i = 0; i < 3; i++) {
            Pending p = post(q, BlockDevice.T_IN, i * 16L, null, 8192, i == 1, 2);
            memory.write(p.data(), dirty);
            reads.add(p);
        }
        Map<Integer, Integer> done = complete(q);
        byte[] expected = new byte[3 * 8192];
        System.arraycopy(content, 0, expected, 0, 10 * 1024);
        byte[] got = new byte[3 * 8192];
        for (int i = 0; i < 3; i++) {
            Pending p = reads.get(i);
            assertEquals(BlockDevice.S_OK, status(p));
            assertEquals(8192 + 1, done.get(p.head()));
            System.arraycopy(memory.read(p.data(), 8192), 0, got, i * 8192, 8192);
        }
        assertArrayEquals(expected, got);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void closeStopsAndJoinsTheWorkers() throws Exception {
        TestDriver.Queue q = start(false, ALL_RING, RateLimiter.UNLIMITED, RefillTimer.shared(), 3);
        Pending read = post(q, BlockDevice.T_IN, 0, null, 512, false, 1);
        complete(q);
        assertEquals(BlockDevice.S_OK, status(read));
        List<Thread> workers = disk.workers();
        assertEquals(3, workers.size());
        for (Thread t : workers) {
            assertTrue(t.isAlive(), t.getName());
        }
        post(q, BlockDevice.T_IN, 8, null, 4096, false, 1);
        q.kick(); // one more request, possibly in flight when the device closes
        disk.close();
        for (Thread t : workers) {
            assertFalse(t.isAlive(), t.getName() + " outlived close()");
        }
        assertTrue(disk.workers().isEmpty());
        disk.close(); // twice is harmless
    }

    @Test
    void workersStartWithTheDeviceAndEndWithItAndBadWorkerCountsAreRefused() throws Exception {
        List<Thread> workers;
        try (BlockDevice idle = BlockDevice.open(image, true, "idle", RateLimiter.UNLIMITED, RefillTimer.shared(), 1)) {
            workers = idle.workers();
            assertEquals(1, workers.size(), "the worker starts when the device opens, before any driver");
            assertTrue(workers.get(0).isAlive());
        }
        assertFalse(workers.get(0).isAlive(), "a device never activated still joins its worker on close");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> BlockDevice.open(image, true, "x", RateLimiter.UNLIMITED, RefillTimer.shared(), 0));
        assertTrue(e.getMessage().contains("1 to " + BlockDevice.MAX_WORKERS + " I/O workers, not 0"), e.getMessage());
    }

    /** A timer the test fires by hand, after moving the fake clock to the task's due time. */
    static final class ManualTimer implements RefillTimer {
        final AtomicLong clock;
        final List<long[]> due = new ArrayList<>();
        final List<Runnable> tasks = new ArrayList<>();

        ManualTimer(AtomicLong clock) {
            this.clock = clock;
        }

        @Override
        public void schedule(long delayNanos, Runnable task) {
            due.add(new long[] {clock.get() + delayNanos});
            tasks.add(task);
        }

        /** Moves the clock to the earliest task's time and runs it; false if none is pending. */
        boolean fireNext() {
            if (tasks.isEmpty()) {
                return false;
            }
            clock.set(due.remove(0)[0]);
            tasks.remove(0).run();
            return true;
        }
    }

    @Test
    void rateLimitedQueueResumesOnTheTimerAndHoldsTheRate() throws Exception {
        AtomicLong clock = new AtomicLong();
        ManualTimer timer = new ManualTimer(clock);
        // 64 KiB per 100 ms and 5 requests per 100 ms
        RateLimiter limiter = RateLimiter.of(64 * 1024, 0, 100, 5, 0, 100, clock::get);
        TestDriver.Queue q = start(false, ALL_RING, limiter, timer);
        List<Pending> reads = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            reads.add(post(q, BlockDevice.T_IN, i * 16L, null, 8192, true, 1));
        }
        q.kick();
        settle();
        assertEquals(5, q.collect().size(), "the ops bucket lets 5 through at once");
        assertEquals(1, timer.tasks.size(), "one retry scheduled, no busy loop");
        int completed = 5;
        while (timer.fireNext()) {
            settle();
            completed += q.collect().size();
        }
        assertEquals(20, completed);
        // 20 requests, 5 at t=0 and 5 per 100 ms after: the last one is due at 300 ms, not before
        assertEquals(300 * 1_000_000L, clock.get());
        for (Pending p : reads) {
            assertEquals(BlockDevice.S_OK, status(p));
        }

        // now the bytes bucket binds: 64 KiB requests, one per 100 ms once the bucket is drained
        List<Pending> big = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            big.add(post(q, BlockDevice.T_OUT, 1024 + i * 128L, new byte[64 * 1024], 0, true, 4));
        }
        clock.addAndGet(1000 * 1_000_000L); // a quiet second: both buckets full again
        long start = clock.get();
        q.kick();
        settle();
        completed = q.collect().size();
        while (timer.fireNext()) {
            settle();
            completed += q.collect().size();
        }
        assertEquals(4, completed);
        assertEquals(300 * 1_000_000L, clock.get() - start, "4 x 64 KiB at 64 KiB per 100 ms, the first one from the full bucket");
    }
}
