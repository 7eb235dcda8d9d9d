package io.vessel.vmm.devices.virtio;

import io.vessel.linux.Errno;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.EventFd;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.IoVector;
import io.vessel.linux.PositionalIo;
import io.vessel.vmm.memory.GuestMemory;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * virtio-blk (virtio 1.2, 5.2) over a raw image file: read, write, flush, get-ID, discard and
 * write-zeroes, optionally read-only, optionally rate limited. Data moves between the file and
 * guest RAM with one preadv/pwritev per request whose iovecs are the guest's own pages (each
 * range checked against guest RAM first), without a bounce buffer.
 *
 * <p>Requests are served off the VM's event loop, by a few I/O worker threads per device (platform
 * threads, started when the device is opened so that their one-time setup runs while the VM is
 * being built, not on the guest's first request; joined by {@link #close}): idle workers wait on
 * the queue's ioeventfd themselves, so a notification wakes a worker directly, a large read never
 * holds up the other devices, and with several workers the requests in flight are copied in
 * parallel. The workers take chains from the queue, parse them and charge
 * the rate limiter under the device's lock, do the I/O without it, and return the chain to the used
 * ring under it again (the used index is published with release ordering, {@link Virtqueue#addUsed}),
 * interrupting the driver when it asked for it. Completions may come out of order, as virtio
 * allows; a FLUSH waits until every write taken before it has completed, then syncs. A device
 * reset waits for the requests in flight, so that nothing touches guest RAM or the rings after
 * the driver has seen the reset.
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
    /**
     * I/O workers per device unless told otherwise: two, so that a driver with several requests in
     * flight (Linux keeps up to the queue depth) gets two copies going at once on a multi-core
     * host, while a VM with many disks does not multiply threads.
     */
    public static final int DEFAULT_WORKERS = 2;
    /** The most workers a device takes: each holds a thread and an iovec array. */
    public static final int MAX_WORKERS = 16;
    /** iovecs per worker: a request's data buffers (at most {@link #SEG_MAX} when the driver keeps to it). */
    private static final int IOVECS = QUEUE_SIZE;
    /**
     * The most requests one worker takes at once when they continue each other (reads, or writes,
     * of adjacent sectors, as a driver's sequential I/O does): they move with one preadv/pwritev,
     * as a block layer merges requests, instead of one system call and one round of locking each.
     */
    static final int MAX_MERGE = 32;
    /** How often {@link #awaitIdle} looks again at a context another thread may have invalidated. */
    private static final long IDLE_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final Path path;
    private final Fd fd;
    /**
     * What idle workers wait on: the driver's notifications arrive here when the VM registers it
     * as the queue's ioeventfd ({@link #notificationFd}), so a notification wakes a worker straight
     * from the kernel instead of through the VM's event loop and a second hand-over (in the
     * interpreter that hand-over cost about as much as the rest of a request's path). Threads of
     * the VMM ring it too ({@link #ring}). Every idle worker blocks reading it: a ring wakes them
     * all in the kernel, the first to read takes the count and the others sleep again there.
     */
    private final EventFd doorbell;
    private final boolean readOnly;
    private final long capacitySectors;
    private final byte[] id;
    private final RateLimiter limiter;
    private final RefillTimer timer;
    private final byte[] config;
    private final int workerCount;

    /** Guards everything below, the queue included (workers, vCPU threads and the refill timer share it). */
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a request completes or a worker goes idle: flushes, resets and {@link #awaitIdle} wait here. */
    private final Condition progress = lock.newCondition();
    private final List<Thread> workers = new ArrayList<>();
    /** Sequence numbers of the writes (OUT, DISCARD, WRITE_ZEROES) taken and not yet completed. */
    private final TreeSet<Long> writesInFlight = new TreeSet<>();

    private DeviceContext context;
    /** The driver notified (or a throttled retry is due) and the workers have not yet found the ring empty. */
    private boolean kicked;
    private boolean throttled;
    /** VIRTQ_USED_F_NO_NOTIFY is set while the workers drain the ring (without EVENT_IDX). */
    private boolean notificationsOff;
    private boolean closed;
    private int inFlight;
    private long nextSequence;
    /** How many times the rate limiter held a request back (for tests and metrics). */
    private long throttles;
    /** Bumped by each activation and reset: a request of an older generation is not returned to the ring. */
    private long generation;

    private BlockDevice(Path path, Fd fd, EventFd doorbell, boolean readOnly, long capacitySectors, byte[] id,
                        RateLimiter limiter, RefillTimer timer, int workerCount) {
        this.path = path;
        this.fd = fd;
        this.doorbell = doorbell;
        this.readOnly = readOnly;
        this.capacitySectors = capacitySectors;
        this.id = id;
        this.limiter = limiter;
        this.timer = timer;
        this.workerCount = workerCount;
        this.config = buildConfig();
    }

    /**
     * Opens {@code image} as a disk of its size rounded down to whole sectors, served by
     * {@code workers} I/O threads (1 to {@link #MAX_WORKERS}).
     *
     * @param id the serial the guest reads with GET_ID (up to 20 bytes of UTF-8)
     */
    public static BlockDevice open(Path image, boolean readOnly, String id, RateLimiter limiter, RefillTimer timer,
                                   int workers) throws IOException {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        if (idBytes.length > ID_BYTES) {
            throw new IllegalArgumentException("disk id \"" + id + "\" is longer than " + ID_BYTES + " bytes");
        }
        if (workers < 1 || workers > MAX_WORKERS) {
            throw new IllegalArgumentException("a disk has 1 to " + MAX_WORKERS + " I/O workers, not " + workers);
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
        EventFd doorbell;
        try {
            doorbell = EventFd.createBlocking();
        } catch (ErrnoException | RuntimeException e) {
            fd.close();
            throw e;
        }
        BlockDevice device = new BlockDevice(image, fd, doorbell, readOnly, size / SECTOR_SIZE, idBytes, limiter, timer,
                workers);
        try {
            device.startWorkers();
        } catch (RuntimeException | Error e) {
            device.close();
            throw e;
        }
        return device;
    }

    public static BlockDevice open(Path image, boolean readOnly, String id, RateLimiter limiter, RefillTimer timer)
            throws IOException {
        return open(image, readOnly, id, limiter, timer, DEFAULT_WORKERS);
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
    public void activate(DeviceContext context) throws VirtioException {
        context.requireReady("virtio-blk", "request");
        lock.lock();
        try {
            if (closed) {
                throw new VirtioException("virtio-blk " + path + " is closed");
            }
            this.context = context;
            this.kicked = false;
            this.throttled = false;
            this.notificationsOff = false;
            this.generation++;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops serving the driver: requests not yet taken stay where they are, and the call waits
     * until the requests in flight are done with guest RAM (their completions are dropped).
     */
    @Override
    public void reset() {
        lock.lock();
        try {
            context = null;
            kicked = false;
            throttled = false;
            notificationsOff = false;
            generation++;
            if (!workers.contains(Thread.currentThread())) {
                while (inFlight > 0) {
                    progress.awaitUninterruptibly();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The device's one queue is notified through its own eventfd: the VM registers it as the
     * queue's ioeventfd instead of watching one in its event loop.
     */
    @Override
    public EventFd notificationFd(int index) {
        return index == 0 ? doorbell : null;
    }

    /** Wakes a worker: the driver made buffers available (a trapped QueueNotify write, or a test). */
    @Override
    public void queueNotified(int index) {
        lock.lock();
        try {
            kicked = true;
            ring();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Wakes an idle worker, if there is one: a worker serving a request looks at the ring again
     * when it is done, so no wake-up is lost.
     */
    private void ring() {
        try {
            doorbell.signal();
        } catch (ErrnoException e) {
            throw new IllegalStateException("virtio-blk " + path + ": waking an I/O worker: " + e.getMessage(), e);
        }
    }

    private void resumeAfterThrottle(long forGeneration) {
        lock.lock();
        try {
            if (forGeneration != generation) {
                return; // reset since: the retry belongs to a past life of the device
            }
            throttled = false;
            kicked = true;
            ring();
        } finally {
            lock.unlock();
        }
    }

    /** How many times the rate limiter has held a request back since the device was opened. */
    public long throttleCount() {
        lock.lock();
        try {
            return throttles;
        } finally {
            lock.unlock();
        }
    }

    /** The I/O worker threads (none after {@link #close}). */
    public List<Thread> workers() {
        lock.lock();
        try {
            return List.copyOf(workers);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until the device has nothing to do: no request in flight, and no notification it has
     * seen left unserved (or the device throttled, reset or needing a reset). For a caller that
     * must see every completion of what it posted and notified through {@link #queueNotified},
     * such as a test. A notification through the ioeventfd counts once a worker has read it from
     * the doorbell; chains posted without one are not waited for (the driver did not ask).
     *
     * @return false if {@code timeout} passed first
     */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (inFlight > 0 || runnable()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                progress.awaitNanos(Math.min(left, IDLE_RECHECK_NANOS));
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a worker has work to look for (under the lock). */
    private boolean runnable() {
        DeviceContext ctx = context;
        return kicked && !throttled && !closed && ctx != null && ctx.isValid();
    }

    private void startWorkers() {
        lock.lock();
        try {
            startWorkersLocked();
        } finally {
            lock.unlock();
        }
    }

    private void startWorkersLocked() {
        if (!workers.isEmpty()) {
            return;
        }
        String name = "virtio-blk " + path.getFileName() + " io-";
        for (int i = 0; i < workerCount; i++) {
            Thread t = Thread.ofPlatform().name(name + i).daemon().unstarted(this::work);
            workers.add(t);
        }
        for (Thread t : workers) {
            t.start();
        }
    }

    /** A request a worker took from the ring: served outside the lock, completed under it. */
    private record Work(long generation, long sequence, DeviceContext context, DescriptorChain chain, Request request) {
    }

    /** A worker's life: take a request, serve it, complete it, until the device closes. */
    private void work() {
        try (IoVector vector = new IoVector(IOVECS)) {
            List<Work> batch;
            while ((batch = take()) != null) {
                int[] written = new int[batch.size()];
                try {
                    if (batch.size() == 1) {
                        written[0] = serve(batch.get(0), vector);
                    } else {
                        serveMerged(batch, vector, written);
                    }
                } catch (RuntimeException e) {
                    batch.get(0).context().needsReset("virtio-blk: serving request " + batch.get(0).chain().head()
                            + ": " + e);
                } finally {
                    complete(batch, written);
                }
            }
        }
    }

    /**
     * The next request to serve, with the ones that continue it ({@link #MAX_MERGE}), waiting on
     * the {@link #doorbell} for one; null once the device is closing.
     */
    private List<Work> take() {
        lock.lock();
        try {
            while (!closed) {
                if (runnable()) {
                    Work w = pop(context);
                    if (w != null) {
                        List<Work> batch = extend(w);
                        if (moreAvailable(w.context())) {
                            ring(); // another worker may take the next one meanwhile
                        }
                        return batch;
                    }
                    continue;
                }
                progress.signalAll(); // idle: awaitIdle may be waiting for this
                awaitDoorbell();
            }
            ring(); // the next worker sees the stop too
            return null;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Blocks (without the lock) until the doorbell rings: the driver notified, or a thread of the
     * VMM wants a worker to look again. Either way the ring is looked at again; a needless look
     * finds it empty.
     */
    private void awaitDoorbell() {
        lock.unlock();
        try {
            doorbell.await();
        } catch (ErrnoException e) {
            throw new IllegalStateException("virtio-blk " + path + ": waiting for a notification: " + e.getMessage(), e);
        } finally {
            lock.lock();
        }
        kicked = true;
    }

    /**
     * Whether the ring holds chains beyond the ones taken: only then is another worker woken, as
     * a wake-up that finds nothing costs a context switch on the path of the next notification.
     * A broken ring counts (the next take finds it and fails the device).
     */
    private static boolean moreAvailable(DeviceContext ctx) {
        try {
            return ctx.queue(0).availableCount() > 0;
        } catch (VirtioException e) {
            return true;
        }
    }

    /**
     * Takes one chain off the ring (under the lock): null when the ring is empty (then
     * notifications are back on), when the limiter holds it back (then a retry is scheduled), or
     * when the driver broke the protocol (then the device needs a reset).
     */
    private Work pop(DeviceContext ctx) {
        Virtqueue queue = ctx.queue(0);
        try {
            if (!notificationsOff) {
                queue.disableNotification();
                notificationsOff = true;
            }
            DescriptorChain chain = queue.pop();
            if (chain == null) {
                notificationsOff = false;
                if (!queue.enableNotification()) {
                    kicked = false; // nothing came in meanwhile: sleep until the driver notifies
                }
                return null;
            }
            Request request = Request.parse(ctx, chain);
            if (!limiter.consume(request.cost(), 1)) {
                queue.undoPop();
                throttle(queue, request.cost());
                return null;
            }
            long sequence = nextSequence++;
            if (request.isWrite()) {
                writesInFlight.add(sequence);
            }
            inFlight++;
            return new Work(generation, sequence, ctx, chain, request);
        } catch (VirtioException e) {
            kicked = false;
            ctx.needsReset(e.getMessage());
        } catch (GuestMemoryException e) {
            kicked = false;
            ctx.needsReset("virtio-blk: " + e.getMessage());
        } catch (RuntimeException e) {
            kicked = false; // a device bug, not the driver's: the device stops rather than the worker dying
            ctx.needsReset("virtio-blk: device error taking a request: " + e);
        }
        return null;
    }

    /**
     * {@code first} and the chains after it on the ring that continue it: the same direction
     * (IN or OUT), each well-formed and in range, each starting at the sector where the previous
     * one ends, each let through by the limiter. The first chain that does not fit is put back
     * for the next take (a malformed one then sets DEVICE_NEEDS_RESET as usual). Under the lock.
     */
    private List<Work> extend(Work first) {
        if (!mergeable(first.request())) {
            return List.of(first);
        }
        DeviceContext ctx = first.context();
        Virtqueue queue = ctx.queue(0);
        List<Work> batch = new ArrayList<>();
        batch.add(first);
        Request last = first.request();
        while (batch.size() < MAX_MERGE) {
            DescriptorChain chain;
            try {
                chain = queue.pop();
            } catch (VirtioException e) {
                break; // left where it is: the next take finds it and fails the device
            }
            if (chain == null) {
                break;
            }
            Request next;
            try {
                next = Request.parse(ctx, chain);
            } catch (RuntimeException e) {
                queue.undoPop();
                break;
            }
            if (next.type() != last.type() || !mergeable(next)
                    || next.sector() != last.sector() + last.bytes() / SECTOR_SIZE
                    || !limiter.consume(next.cost(), 1)) {
                queue.undoPop();
                break;
            }
            long sequence = nextSequence++;
            if (next.isWrite()) {
                writesInFlight.add(sequence);
            }
            inFlight++;
            batch.add(new Work(first.generation(), sequence, ctx, chain, next));
            last = next;
        }
        return batch;
    }

    /** Whether a request can move in one transfer with its neighbours: a data request that will succeed up to its I/O. */
    private boolean mergeable(Request r) {
        return (r.type() == T_IN || (r.type() == T_OUT && !readOnly)) && r.status() >= 0 && r.bytes() > 0
                && inRange(r.sector(), r.bytes());
    }

    private void throttle(Virtqueue queue, long bytes) throws VirtioException {
        throttled = true;
        throttles++;
        queue.enableNotification();
        notificationsOff = false;
        long delay = limiter.nanosUntil(bytes, 1);
        long forGeneration = generation;
        timer.schedule(Math.max(delay, 1), () -> resumeAfterThrottle(forGeneration));
    }

    /**
     * Returns a served request to the used ring (unless the device was reset meanwhile) and
     * interrupts the driver if it asked for it; wakes flushes, resets and idle waiters.
     */
    private void complete(List<Work> batch, int[] written) {
        lock.lock();
        try {
            inFlight -= batch.size();
            for (Work w : batch) {
                if (w.request().isWrite()) {
                    writesInFlight.remove(w.sequence());
                }
            }
            Work first = batch.get(0);
            DeviceContext ctx = first.context();
            if (first.generation() == generation && ctx == context && ctx.isValid()) {
                try {
                    Virtqueue queue = ctx.queue(0);
                    for (int i = 0; i < batch.size(); i++) {
                        queue.addUsed(batch.get(i).chain().head(), written[i]);
                    }
                    if (queue.needsNotification()) {
                        // under the lock: once a request is no longer in flight, its interrupt has been sent
                        ctx.signalUsed(0);
                    }
                } catch (VirtioException e) {
                    ctx.needsReset(e.getMessage());
                }
            }
            progress.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until every write taken before request {@code sequence} has completed. */
    private void awaitEarlierWrites(long sequence) {
        lock.lock();
        try {
            while (!writesInFlight.isEmpty() && writesInFlight.first() < sequence) {
                progress.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * A parsed request: its header, the address of its status byte (-1 if the chain has no
     * writable byte) and how many data bytes it moves (what the bytes bucket is charged).
     */
    private record Request(int type, long sector, long status, long dataIn, long dataOut) {
        static Request parse(DeviceContext ctx, DescriptorChain chain) {
            long status = chain.lastWritableByte();
            long dataIn = Math.max(0, chain.writableBytes() - 1);
            long dataOut = chain.readableBytes() - HEADER_BYTES;
            List<DescriptorChain.Buffer> readable = chain.readable();
            if (!readable.isEmpty() && readable.get(0).length() >= HEADER_BYTES) {
                // the usual case, a header in a buffer of its own: two loads
                long at = readable.get(0).address();
                return new Request(ctx.memory().readU32(at), ctx.memory().readU64(at + 8), status, dataIn, dataOut);
            }
            byte[] header = chain.reader(ctx.memory()).read(HEADER_BYTES);
            if (header == null) {
                return new Request(-1, 0, status, 0, 0);
            }
            ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
            return new Request(h.getInt(0), h.getLong(8), status, dataIn, dataOut);
        }

        long cost() {
            return switch (type) {
                case T_IN -> dataIn;
                case T_OUT -> dataOut;
                default -> 0;
            };
        }

        /** The data bytes an IN or OUT moves. */
        long bytes() {
            return type == T_IN ? dataIn : type == T_OUT ? dataOut : 0;
        }

        /** Whether it changes the disk: what a later FLUSH must wait for. */
        boolean isWrite() {
            return type == T_OUT || type == T_DISCARD || type == T_WRITE_ZEROES;
        }
    }

    /** Serves one request (outside the lock); returns the bytes written into the chain (data and status). */
    private int serve(Work w, IoVector vector) {
        DeviceContext ctx = w.context();
        DescriptorChain chain = w.chain();
        Request r = w.request();
        if (r.status() < 0) {
            return 0; // nowhere to put a status: hand the chain back untouched
        }
        int[] written = {0};
        int status = switch (r.type()) {
            case -1 -> S_IOERR;
            case T_IN -> readSectors(ctx, chain, r, vector, written);
            case T_OUT -> writeSectors(ctx, chain, r, vector);
            case T_FLUSH -> {
                awaitEarlierWrites(w.sequence());
                yield flush();
            }
            case T_GET_ID -> getId(ctx, chain, r, written);
            case T_DISCARD, T_WRITE_ZEROES -> discardOrZero(ctx, chain, r);
            default -> S_UNSUPP;
        };
        ctx.memory().writeU8(r.status(), status);
        return written[0] + 1;
    }

    /**
     * Serves a batch of {@link #extend merged} requests (outside the lock): one transfer over all
     * their data buffers in order, from the first one's sector. Each gets its status (IOERR for
     * all if the transfer fails; past the end of a shrunken file, reads are zeros) and its
     * written length in {@code written}.
     */
    private void serveMerged(List<Work> batch, IoVector vector, int[] written) {
        DeviceContext ctx = batch.get(0).context();
        GuestMemory memory = ctx.memory();
        boolean write = batch.get(0).request().type() == T_OUT;
        int status = S_OK;
        try {
            Transfer t = new Transfer(vector, batch.get(0).request().sector() * SECTOR_SIZE, write);
            for (Work w : batch) {
                if (write) {
                    t.add(memory, w.chain().readable(), HEADER_BYTES, w.request().dataOut());
                } else {
                    t.add(memory, w.chain().writable(), 0, w.request().dataIn());
                }
            }
            long done = t.finish();
            long at = 0;
            for (Work w : batch) {
                long length = w.request().bytes();
                if (!write && done < at + length) {
                    // the file shrank under us: the rest of the disk reads as zeros
                    zeroFrom(memory, w.chain().writable(), Math.max(0, done - at), length);
                }
                at += length;
            }
        } catch (ErrnoException e) {
            status = S_IOERR;
        }
        for (int i = 0; i < batch.size(); i++) {
            Request r = batch.get(i).request();
            memory.writeU8(r.status(), status);
            written[i] = (!write && status == S_OK ? (int) r.dataIn() : 0) + 1;
        }
    }

    /** Whether {@code bytes} from {@code sector} are whole sectors inside the disk and within the request limits. */
    private boolean inRange(long sector, long bytes) {
        if (bytes % SECTOR_SIZE != 0 || bytes > (long) SIZE_MAX * SEG_MAX || sector < 0) {
            return false;
        }
        long sectors = bytes / SECTOR_SIZE;
        return sector <= capacitySectors && sectors <= capacitySectors - sector;
    }

    /** IN: one preadv into the chain's data buffers (more only past {@link IoVector#IOV_MAX} of them). */
    private int readSectors(DeviceContext ctx, DescriptorChain chain, Request r, IoVector vector, int[] written) {
        if (!inRange(r.sector(), r.dataIn())) {
            return S_IOERR;
        }
        try {
            Transfer t = new Transfer(vector, r.sector() * SECTOR_SIZE, false);
            t.add(ctx.memory(), chain.writable(), 0, r.dataIn());
            long got = t.finish();
            if (got < r.dataIn()) {
                // the file shrank under us: the rest of the disk reads as zeros
                zeroFrom(ctx.memory(), chain.writable(), got, r.dataIn());
            }
        } catch (ErrnoException e) {
            return S_IOERR;
        }
        written[0] = (int) r.dataIn();
        return S_OK;
    }

    /** OUT: one pwritev from the chain's data buffers, after the header. */
    private int writeSectors(DeviceContext ctx, DescriptorChain chain, Request r, IoVector vector) {
        if (readOnly || !inRange(r.sector(), r.dataOut())) {
            return S_IOERR;
        }
        try {
            Transfer t = new Transfer(vector, r.sector() * SECTOR_SIZE, true);
            t.add(ctx.memory(), chain.readable(), HEADER_BYTES, r.dataOut());
            t.finish();
        } catch (ErrnoException e) {
            return S_IOERR;
        }
        return S_OK;
    }

    /**
     * Moves a run of guest buffers from or to the image, starting at one file offset: buffers are
     * added in order (each list after its first {@code skip} bytes, up to {@code length}), and the
     * iovec array goes to one preadv/pwritev whenever it fills and at {@link #finish}. Each
     * buffer's host address is checked by {@link GuestMemory#hostAddress}. A read that meets the
     * end of the file stops there.
     */
    private final class Transfer {
        private final IoVector vector;
        private final long offset;
        private final boolean write;
        private long done;
        private boolean ended;

        Transfer(IoVector vector, long offset, boolean write) {
            this.vector = vector;
            this.offset = offset;
            this.write = write;
            vector.clear();
        }

        void add(GuestMemory memory, List<DescriptorChain.Buffer> buffers, long skip, long length)
                throws ErrnoException {
            long queued = 0;
            for (int i = 0; i < buffers.size() && queued < length && !ended; i++) {
                DescriptorChain.Buffer b = buffers.get(i);
                long part = b.length();
                if (skip >= part) {
                    skip -= part;
                    continue;
                }
                long from = b.address() + skip;
                part = Math.min(part - skip, length - queued);
                skip = 0;
                if (vector.isFull()) {
                    run();
                    if (ended) {
                        return;
                    }
                }
                vector.add(memory.hostAddress(from, part), part);
                queued += part;
            }
        }

        /** Moves what is queued; returns the bytes moved in all (fewer than added only for a read at end of file). */
        long finish() throws ErrnoException {
            if (!ended && vector.count() > 0) {
                run();
            }
            return done;
        }

        private void run() throws ErrnoException {
            long n;
            if (write) {
                vector.writeFully(fd.num(), offset + done);
                n = vector.bytes();
            } else {
                n = vector.readFully(fd.num(), offset + done);
            }
            done += n;
            ended = n < vector.bytes();
            vector.clear();
        }
    }

    /** Zeroes bytes {@code [from, to)} of the byte stream that {@code buffers} make up. */
    private static void zeroFrom(GuestMemory memory, List<DescriptorChain.Buffer> buffers, long from, long to) {
        long at = 0;
        for (DescriptorChain.Buffer b : buffers) {
            long start = Math.max(at, from);
            long end = Math.min(at + b.length(), to);
            if (start < end) {
                memory.slice(b.address() + (start - at), end - start).fill((byte) 0);
            }
            at += b.length();
        }
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

    /** Stops and joins the I/O workers (each finishes the request it is serving), then closes the image. */
    @Override
    public void close() {
        List<Thread> joining;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            context = null;
            generation++;
            ring(); // each worker passes the stop on to the next as it leaves
            joining = List.copyOf(workers);
            workers.clear();
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        for (Thread t : joining) {
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        fd.close();
        doorbell.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
