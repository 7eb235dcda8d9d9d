package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An eventfd(2): a 64-bit counter in the kernel that one side adds to and the other reads and
 * clears, pollable with epoll. KVM signals one when the guest writes a registered address
 * (ioeventfd) and injects an interrupt when one is written (irqfd), so that device notifications
 * cross between guest and VMM without a vCPU exit to user space. Always close-on-exec;
 * non-blocking ({@link #create}) for an event loop, which reads it only when epoll says it is
 * readable, or blocking ({@link #createBlocking}) for one thread that waits on it alone
 * ({@link #await}) and is woken by a signal from the guest or from another thread.
 */
public final class EventFd implements AutoCloseable {
    /** include/uapi/linux/eventfd.h (= O_CLOEXEC, O_NONBLOCK on x86-64). */
    private static final int EFD_CLOEXEC = 02000000, EFD_NONBLOCK = 04000;

    // int eventfd(unsigned int initval, int flags);
    // ssize_t read(int fd, void *buf, size_t count); ssize_t write(int fd, const void *buf, size_t count);
    private static final Native.Function EVENTFD = Native.function("eventfd");
    private static final Native.Function READ = Native.function("read");
    private static final Native.Function WRITE = Native.function("write");

    private final Fd fd;

    private EventFd(Fd fd) {
        this.fd = fd;
    }

    /** A new non-blocking eventfd with counter 0. */
    public static EventFd create() throws ErrnoException {
        return create(EFD_CLOEXEC | EFD_NONBLOCK, "EFD_CLOEXEC|EFD_NONBLOCK");
    }

    /**
     * A new blocking eventfd with counter 0, for {@link #await}. Closing it does not wake a thread
     * blocked in {@link #await}: whoever closes it signals it first and lets that thread see why.
     */
    public static EventFd createBlocking() throws ErrnoException {
        return create(EFD_CLOEXEC, "EFD_CLOEXEC");
    }

    private static EventFd create(int flags, String flagNames) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) EVENTFD.call(errno, 0, flags);
            Native.check(r, errno, () -> "eventfd(0, " + flagNames + ")");
            return new EventFd(Fd.adopt(r));
        }
    }

    public int num() {
        return fd.num();
    }

    /** Adds 1 to the counter, waking whoever polls it (and, for an irqfd, raising its interrupt). */
    public void signal() throws ErrnoException {
        add(1);
    }

    /** Adds {@code value} (1 to 2^64-2) to the counter. A full counter (EAGAIN) already signals a reader: ignored. */
    public void add(long value) throws ErrnoException {
        Native.Scratch scratch = Native.scratch(); // no arena per call: device threads signal per request
        scratch.data.set(ValueLayout.JAVA_LONG, 0, value);
        long n;
        do {
            n = WRITE.call(scratch.errno, fd.num(), Native.ptr(scratch.data), 8L);
        } while (n < 0 && Native.errno(scratch.errno) == Errno.EINTR);
        if (n < 0 && Native.errno(scratch.errno) != Errno.EAGAIN) {
            throw new ErrnoException("write(eventfd " + fd.num() + ", " + value + ")", Native.errno(scratch.errno));
        }
    }

    /** Reads and clears the counter; 0 if nothing was signalled since the last read. */
    public long drain() throws ErrnoException {
        Native.Scratch scratch = Native.scratch();
        long n;
        do {
            n = READ.call(scratch.errno, fd.num(), Native.ptr(scratch.data), 8L);
        } while (n < 0 && Native.errno(scratch.errno) == Errno.EINTR);
        if (n < 0) {
            if (Native.errno(scratch.errno) == Errno.EAGAIN) {
                return 0;
            }
            throw new ErrnoException("read(eventfd " + fd.num() + ")", Native.errno(scratch.errno));
        }
        return scratch.data.get(ValueLayout.JAVA_LONG, 0);
    }

    /**
     * Waits until the counter is not zero, then reads and clears it: what was added since the
     * last read (at least 1). For a {@link #createBlocking blocking} eventfd; on a non-blocking one
     * it returns 0 at once when nothing was signalled.
     */
    public long await() throws ErrnoException {
        return drain();
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "eventfd " + (fd.isOpen() ? fd.num() : "(closed)");
    }
}
