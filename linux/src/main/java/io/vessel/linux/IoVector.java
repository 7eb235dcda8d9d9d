package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A reusable scatter/gather list for {@code preadv}/{@code pwritev}: one system call moves a whole
 * request between a file and several native buffers (a virtio-blk request's guest pages), instead
 * of one call per buffer. The iovec array and the errno capture are allocated once, so an I/O
 * worker that reuses one vector allocates nothing per request.
 *
 * <p>Confined to the thread that made it (it must also close it): one vector per I/O thread. The
 * buffers added must stay mapped until the call returns; the vector only records their addresses.
 */
public final class IoVector implements AutoCloseable {
    /** {@code IOV_MAX} (limits.h; UIO_MAXIOV in the kernel): the most iovecs one call accepts. */
    public static final int IOV_MAX = 1024;
    /** {@code struct iovec} on LP64 (sys/uio.h): {@code void *iov_base; size_t iov_len;}. */
    private static final long IOVEC_BYTES = 16;
    private static final long LEN_OFFSET = 8;

    // ssize_t preadv(int fd, const struct iovec *iov, int iovcnt, off_t offset);
    private static final Native.Function PREADV = Native.function("preadv");

    // ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset);
    private static final Native.Function PWRITEV = Native.function("pwritev");

    private final Arena arena;
    private final MemorySegment iov;
    /** The same array as a native-order buffer: its absolute puts cost less than a segment's in an interpreted JVM. */
    private final ByteBuffer entries;
    private final MemorySegment errno;
    private final int capacity;
    private int count;
    private long bytes;

    /** A vector of up to {@code capacity} buffers (1 to {@link #IOV_MAX}). */
    public IoVector(int capacity) {
        if (capacity < 1 || capacity > IOV_MAX) {
            throw new IllegalArgumentException("an iovec array holds 1 to " + IOV_MAX + " buffers, not " + capacity);
        }
        this.capacity = capacity;
        this.arena = Arena.ofConfined(); // cheaper to pass to a downcall than a shared one; the thread owns it
        this.iov = arena.allocate(IOVEC_BYTES * capacity, 8);
        this.entries = iov.asByteBuffer().order(ByteOrder.nativeOrder());
        this.errno = Native.errnoSegment(arena);
    }

    /** Buffers added since the last {@link #clear}. */
    public int count() {
        return count;
    }

    /** Their total length. */
    public long bytes() {
        return bytes;
    }

    public boolean isFull() {
        return count == capacity;
    }

    public void clear() {
        count = 0;
        bytes = 0;
    }

    /** Appends {@code buffer} (native memory); an empty one is skipped. */
    public void add(MemorySegment buffer) {
        if (!buffer.isNative()) {
            throw new IllegalArgumentException("an iovec needs native memory, not a heap segment");
        }
        add(buffer.address(), buffer.byteSize());
    }

    /**
     * Appends {@code length} bytes at native {@code address}; an empty buffer is skipped. The
     * caller vouches for the range (a VMM passes guest RAM it has checked): the kernel will
     * read or write it.
     */
    public void add(long address, long length) {
        if (length == 0) {
            return;
        }
        if (length < 0 || address == 0) {
            throw new IllegalArgumentException("iovec of " + length + " bytes at 0x" + Long.toHexString(address));
        }
        if (count == capacity) {
            throw new IllegalStateException("the iovec array is full (" + capacity + " buffers)");
        }
        int at = count * (int) IOVEC_BYTES;
        entries.putLong(at, address);
        entries.putLong(at + (int) LEN_OFFSET, length);
        count++;
        bytes += length;
    }

    /**
     * Fills the buffers from {@code fd} at {@code offset}, retrying after a short read or EINTR;
     * returns the bytes read, fewer than {@link #bytes()} only at end of file. The vector's entries
     * are consumed (call {@link #clear} before reuse).
     */
    public long readFully(int fd, long offset) throws ErrnoException {
        return transfer(fd, offset, false);
    }

    /** Writes the buffers to {@code fd} at {@code offset}, all of them, retrying after a short write or EINTR. */
    public void writeFully(int fd, long offset) throws ErrnoException {
        transfer(fd, offset, true);
    }

    private long transfer(int fd, long offset, boolean write) throws ErrnoException {
        long done = 0;
        long total = bytes;
        int first = 0;
        while (done < total) {
            MemorySegment from = first == 0 ? iov : iov.asSlice(first * IOVEC_BYTES);
            long n = write
                    ? PWRITEV.call(errno, fd, Native.ptr(from), count - first, offset + done)
                    : PREADV.call(errno, fd, Native.ptr(from), count - first, offset + done);
            if (n < 0) {
                int e = Native.errno(errno);
                if (e == Errno.EINTR) {
                    continue;
                }
                throw new ErrnoException((write ? "pwritev(" : "preadv(") + fd + ", " + (count - first)
                        + " buffers of " + (total - done) + " bytes at " + (offset + done) + ")", e);
            }
            if (n == 0) {
                if (write) {
                    throw new ErrnoException("pwritev(" + fd + ", " + (total - done) + " bytes at "
                            + (offset + done) + ") wrote nothing", Errno.EIO);
                }
                break; // end of file
            }
            done += n;
            if (done < total) {
                first = skip(first, n);
            }
        }
        return done;
    }

    /** Drops {@code n} transferred bytes from the front, starting at entry {@code first}; returns the new first entry. */
    private int skip(int first, long n) {
        while (n > 0) {
            int at = first * (int) IOVEC_BYTES;
            long length = entries.getLong(at + (int) LEN_OFFSET);
            if (n < length) {
                entries.putLong(at, entries.getLong(at) + n);
                entries.putLong(at + (int) LEN_OFFSET, length - n);
                return first;
            }
            n -= length;
            first++;
        }
        return first;
    }

    @Override
    public void close() {
        arena.close();
    }
}
