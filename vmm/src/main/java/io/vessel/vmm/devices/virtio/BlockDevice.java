package io.vessel.vmm.devices.virtio;

import io.vessel.linux.Errno;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.PositionalIo;
import io.vessel.vmm.memory.GuestMemoryException;
import io.vessel.vmm.ratelimit.RateLimiter;
import io.vessel.vmm.ratelimit.RefillTimer;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * virtio-blk (virtio 1.2, 5.2) over a raw image file: read, write, flush, get-ID, discard and
 * write-zeroes, optionally read-only, optionally rate limited. Data moves between the file and
 * guest RAM with pread/pwrite on the guest's own pages, without a bounce buffer.
 *
 * <p>A request the device can parse but not serve (unknown type, sectors past the end, a write
 * to a read-only disk, a short header, lengths that are not whole sectors, an I/O error) completes
 * with status IOERR or UNSUPP. A chain without even a status byte is returned with length 0. A
 * broken ring or descriptor chain sets DEVICE_NEEDS_RESET.
 */
public final class BlockDevice implements VirtioDevice, AutoCloseable {
    public static final int DEVICE_TYPE = 2;
    public static final int SECTOR_SIZE = 512;
    public static final int QUEUE_SIZE = 256;
    /** Length of the ID string GET_ID returns (5.2.6: "20 bytes"). */
    public static final int ID_BYTES = 20;

    // Feature bits (5.2.3).
    static final int F_SIZE_MAX = 1;
    static final int F_SEG_MAX = 2;
    static final int F_RO = 5;
    static final int F_BLK_SIZE = 6;
    static final int F_FLUSH = 9;
    static final int F_DISCARD = 13;
    static final int F_WRITE_ZEROES = 14;

    // Request types and status values (5.2.6).
    public static final int T_IN = 0;
    public static final int T_OUT = 1;
    public static final int T_FLUSH = 4;
    public static final int T_GET_ID = 8;
    public static final int T_DISCARD = 11;
    public static final int T_WRITE_ZEROES = 13;
    public static final int S_OK = 0;
    public static final int S_IOERR = 1;
    public static final int S_UNSUPP = 2;

    /** virtio_blk_outhdr: le32 type, le32 reserved, le64 sector. */
    static final int HEADER_BYTES = 16;
    /** virtio_blk_discard_write_zeroes: le64 sector, le32 num_sectors, le32 flags. */
    static final int SEGMENT_BYTES = 16;
    static final int FLAG_UNMAP = 1;

    /** Largest single data buffer (size_max) and count of data buffers (seg_max): Linux's usual queue size - 2. */
    static final int SIZE_MAX = 1 << 20;
    static final int SEG_MAX = QUEUE_SIZE - 2;
    /** Sectors per discard/write-zeroes segment, and one segment per request. */
    static final int MAX_DISCARD_SECTORS = 1 << 22;
    static final int MAX_DISCARD_SEGMENTS = 1;
    /** The configuration layout up to write_zeroes_may_unmap and its padding (5.2.4). */
    static final int CONFIG_BYTES = 60;
    private static final int ZERO_CHUNK = 1 << 16;

    private final Path path;
    private final Fd fd;
    private final boolean readOnly;
    private final long capacitySectors;
    private final byte[] id;
    private final RateLimiter limiter;
    private final RefillTimer timer;
    private final byte[] config;

    private DeviceContext context;
    private boolean throttled;
    /** How many times the rate limiter held a request back (for tests and metrics). */
    private long throttles;
    private long generation;

    private BlockDevice(Path path, Fd fd, boolean readOnly, long capacitySectors, byte[] id, RateLimiter limiter,
                        RefillTimer timer) {
        this.path = path;
        this.fd = fd;
        this.readOnly = readOnly;
        this.capacitySectors = capacitySectors;
        this.id = id;
        this.limiter = limiter;
        this.timer = timer;
        this.config = buildConfig();
    }

    /**
     * Opens {@code image} as a disk of its size rounded down to whole sectors.
     *
     * @param id the serial the guest reads with GET_ID (up to 20 bytes of UTF-8)
     */
    public static BlockDevice open(Path image, boolean readOnly, String id, RateLimiter limiter, RefillTimer timer)
            throws IOException {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        if (idBytes.length > ID_BYTES) {
            throw new IllegalArgumentException("disk id \"" + id + "\" is longer than " + ID_BYTES + " bytes");
        }
        if (!java.nio.file.Files.isRegularFile(image)) {
            throw new IOException("disk image " + image + " is not a regular file");
        }
        long size = java.nio.file.Files.size(image);
        if (size < SECTOR_SIZE) {
            throw new IOException("disk image " + image + " is " + size + " bytes, smaller than one " + SECTOR_SIZE
                    + "-byte sector");
        }
        Fd fd = Files.open(image.toString(), (readOnly ? Files.O_RDONLY : Files.O_RDWR) | Files.O_CLOEXEC, 0);
        return new BlockDevice(image, fd, readOnly, size / SECTOR_SIZE, idBytes, limiter, timer);
    }

    public static BlockDevice open(Path image, boolean readOnly, String id) throws IOException {
        return open(image, readOnly, id, RateLimiter.UNLIMITED, RefillTimer.shared());
    }

    public Path path() {
        return path;
    }

    public long capacitySectors() {
        return capacitySectors;
    }

    private byte[] buildConfig() {
        ByteBuffer b = ByteBuffer.allocate(CONFIG_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, capacitySectors);
        b.putInt(8, SIZE_MAX);
        b.putInt(12, SEG_MAX);
        b.putInt(20, SECTOR_SIZE); // blk_size
        b.putInt(36, MAX_DISCARD_SECTORS);
        b.putInt(40, MAX_DISCARD_SEGMENTS);
        b.putInt(44, 1); // discard_sector_alignment, in sectors
        b.putInt(48, MAX_DISCARD_SECTORS); // max_write_zeroes_sectors
        b.putInt(52, MAX_DISCARD_SEGMENTS);
        b.put(56, (byte) 1); // write_zeroes_may_unmap
        return b.array();
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        long f = Features.bit(F_SIZE_MAX) | Features.bit(F_SEG_MAX) | Features.bit(F_BLK_SIZE) | Features.bit(F_FLUSH);
        if (readOnly) {
            f |= Features.bit(F_RO);
        } else {
            f |= Features.bit(F_DISCARD) | Features.bit(F_WRITE_ZEROES);
        }
        return f;
    }

    @Override
    public int[] queueMaxSizes() {
        return new int[] {QUEUE_SIZE};
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            data[i] = at >= 0 && at < config.length ? config[(int) at] : 0;
        }
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        // no writable field: CONFIG_WCE is not offered
    }

    @Override
    public synchronized void activate(DeviceContext context) throws VirtioException {
        if (!context.queue(0).isReady()) {
            throw new VirtioException("virtio-blk request queue 0 is not ready at DRIVER_OK");
        }
        this.context = context;
        this.throttled = false;
        this.generation++;
    }

    @Override
    public synchronized void reset() {
        context = null;
        throttled = false;
        generation++;
    }

    @Override
    public synchronized void queueNotified(int index) {
        if (!throttled) {
            process();
        }
    }

    private synchronized void resumeAfterThrottle(long forGeneration) {
        if (forGeneration != generation) {
            return; // reset since: the retry belongs to a past life of the device
        }
        throttled = false;
        process();
    }

    private void process() {
        DeviceContext ctx = context;
        if (ctx == null || !ctx.isValid()) {
            return;
        }
        Virtqueue queue = ctx.queue(0);
        boolean completed = false;
        try {
            do {
                queue.disableNotification();
                DescriptorChain chain;
                while ((chain = queue.pop()) != null) {
                    Request request = Request.parse(ctx, chain);
                    if (!limiter.consume(request.cost(), 1)) {
                        queue.undoPop();
                        throttle(request.cost());
                        break;
                    }
                    queue.addUsed(chain.head(), serve(ctx, chain, request));
                    completed = true;
                }
            } while (!throttled && queue.enableNotification());
            if (completed && queue.needsNotification()) {
                ctx.signalUsed(0);
            }
        } catch (VirtioException e) {
            ctx.needsReset(e.getMessage());
        } catch (GuestMemoryException e) {
            ctx.needsReset("virtio-blk: " + e.getMessage());
        }
    }

    /** How many times the rate limiter has held a request back since the device was opened. */
    public synchronized long throttleCount() {
        return throttles;
    }

    private void throttle(long bytes) throws VirtioException {
        throttled = true;
        throttles++;
        context.queue(0).enableNotification();
        long delay = limiter.nanosUntil(bytes, 1);
        long forGeneration = generation;
        timer.schedule(Math.max(delay, 1), () -> resumeAfterThrottle(forGeneration));
    }

    /**
     * A parsed request: its header, the address of its status byte (-1 if the chain has no
     * writable byte) and how many data bytes it moves (what the bytes bucket is charged).
     */
    private record Request(int type, long sector, long status, long dataIn, long dataOut) {
        static Request parse(DeviceContext ctx, DescriptorChain chain) {
            long status = chain.lastWritableByte();
            long dataIn = Math.max(0, chain.writableBytes() - 1);
            byte[] header = chain.reader(ctx.memory()).read(HEADER_BYTES);
            if (header == null) {
                return new Request(-1, 0, status, 0, 0);
            }
            ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
            return new Request(h.getInt(0), h.getLong(8), status, dataIn, chain.readableBytes() - HEADER_BYTES);
        }

        long cost() {
            return switch (type) {
                case T_IN -> dataIn;
                case T_OUT -> dataOut;
                default -> 0;
            };
        }
    }

    /** Serves one request; returns the bytes written into the chain (data and status). */
    private int serve(DeviceContext ctx, DescriptorChain chain, Request r) {
        if (r.status() < 0) {
            return 0; // nowhere to put a status: hand the chain back untouched
        }
        int[] written = {0};
        int status = switch (r.type()) {
            case -1 -> S_IOERR;
            case T_IN -> readSectors(ctx, chain, r, written);
            case T_OUT -> writeSectors(ctx, chain, r);
            case T_FLUSH -> flush();
            case T_GET_ID -> getId(ctx, chain, r, written);
            case T_DISCARD, T_WRITE_ZEROES -> discardOrZero(ctx, chain, r);
            default -> S_UNSUPP;
        };
        ctx.memory().writeU8(r.status(), status);
        return written[0] + 1;
    }

    /** Whether {@code bytes} from {@code sector} are whole sectors inside the disk and within the request limits. */
    private boolean inRange(long sector, long bytes) {
        if (bytes % SECTOR_SIZE != 0 || bytes > (long) SIZE_MAX * SEG_MAX || sector < 0) {
            return false;
        }
        long sectors = bytes / SECTOR_SIZE;
        return sector <= capacitySectors && sectors <= capacitySectors - sector;
    }

    private int readSectors(DeviceContext ctx, DescriptorChain chain, Request r, int[] written) {
        if (!inRange(r.sector(), r.dataIn())) {
            return S_IOERR;
        }
        long offset = r.sector() * SECTOR_SIZE;
        try {
            for (MemorySegment s : chain.writer(ctx.memory(), r.dataIn()).take(r.dataIn())) {
                long n = PositionalIo.pread(fd.num(), s, offset);
                if (n < s.byteSize()) {
                    s.asSlice(n).fill((byte) 0); // the file shrank under us: the rest of the disk reads as zeros
                }
                offset += s.byteSize();
            }
        } catch (ErrnoException e) {
            return S_IOERR;
        }
        written[0] = (int) r.dataIn();
        return S_OK;
    }

    private int writeSectors(DeviceContext ctx, DescriptorChain chain, Request r) {
        if (readOnly || !inRange(r.sector(), r.dataOut())) {
            return S_IOERR;
        }
        long offset = r.sector() * SECTOR_SIZE;
        GuestBuffers data = chain.reader(ctx.memory());
        data.take(HEADER_BYTES);
        try {
            for (MemorySegment s : data.take(r.dataOut())) {
                PositionalIo.pwrite(fd.num(), s, offset);
                offset += s.byteSize();
            }
        } catch (ErrnoException e) {
            return S_IOERR;
        }
        return S_OK;
    }

    private int flush() {
        if (readOnly) {
            return S_OK;
        }
        try {
            PositionalIo.fdatasync(fd.num());
            return S_OK;
        } catch (ErrnoException e) {
            return S_IOERR;
        }
    }

    private int getId(DeviceContext ctx, DescriptorChain chain, Request r, int[] written) {
        byte[] padded = java.util.Arrays.copyOf(id, ID_BYTES);
        GuestBuffers out = chain.writer(ctx.memory(), Math.min(r.dataIn(), ID_BYTES));
        written[0] = out.write(padded);
        return S_OK;
    }

    private int discardOrZero(DeviceContext ctx, DescriptorChain chain, Request r) {
        if (readOnly) {
            return S_IOERR;
        }
        GuestBuffers in = chain.reader(ctx.memory());
        in.take(HEADER_BYTES);
        long count = in.remaining() / SEGMENT_BYTES;
        if (in.remaining() % SEGMENT_BYTES != 0 || count == 0) {
            return S_IOERR;
        }
        if (count > MAX_DISCARD_SEGMENTS) {
            return S_UNSUPP;
        }
        ByteBuffer seg = ByteBuffer.wrap(in.read(SEGMENT_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        long sector = seg.getLong(0);
        long sectors = Integer.toUnsignedLong(seg.getInt(8));
        int flags = seg.getInt(12);
        boolean unmap = (flags & FLAG_UNMAP) != 0;
        if ((flags & ~FLAG_UNMAP) != 0 || (r.type() == T_DISCARD && unmap)) {
            return S_UNSUPP; // reserved flags, or unmap on a discard (5.2.6.2)
        }
        if (sectors > MAX_DISCARD_SECTORS || sector < 0 || sector > capacitySectors
                || sectors > capacitySectors - sector) {
            return S_IOERR;
        }
        long offset = sector * SECTOR_SIZE;
        long length = sectors * SECTOR_SIZE;
        if (length == 0) {
            return S_OK;
        }
        try {
            if (r.type() == T_DISCARD || unmap) {
                PositionalIo.fallocate(fd.num(), PositionalIo.FALLOC_FL_PUNCH_HOLE | PositionalIo.FALLOC_FL_KEEP_SIZE,
                        offset, length);
            } else {
                PositionalIo.fallocate(fd.num(), PositionalIo.FALLOC_FL_ZERO_RANGE | PositionalIo.FALLOC_FL_KEEP_SIZE,
                        offset, length);
            }
            return S_OK;
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EOPNOTSUPP) {
                return S_IOERR;
            }
        }
        return writeZeros(offset, length);
    }

    /** Write-zeroes and discard where the filesystem cannot punch holes: plain zeros. */
    private int writeZeros(long offset, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment zeros = arena.allocate(ZERO_CHUNK);
            for (long done = 0; done < length; done += ZERO_CHUNK) {
                PositionalIo.pwrite(fd.num(), zeros.asSlice(0, Math.min(ZERO_CHUNK, length - done)), offset + done);
            }
            return S_OK;
        } catch (ErrnoException e) {
            return S_IOERR;
        }
    }

    @Override
    public synchronized void close() {
        reset();
        fd.close();
    }
}
