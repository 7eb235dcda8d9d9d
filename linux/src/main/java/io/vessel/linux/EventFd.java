package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An eventfd(2): a 64-bit counter in the kernel that one side adds to and the other reads and
 * clears, pollable with epoll. KVM signals one when the guest writes a registered address
 * (ioeventfd) and injects an interrupt when one is written (irqfd), so that device notifications
 * cross between guest and VMM without a vCPU exit to user space. Always close-on-exec and
 * non-blocking: the event loop reads it only when epoll says it is readable.
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

    /** A new eventfd with counter 0. */
    public static EventFd create() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) EVENTFD.call(errno, 0, EFD_CLOEXEC | EFD_NONBLOCK);
            Native.check(r, errno, () -> "eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)");
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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_LONG, value);
            long n;
            do {
                n = WRITE.call(errno, fd.num(), Native.ptr(buf), 8L);
            } while (n < 0 && Native.errno(errno) == Errno.EINTR);
            if (n < 0 && Native.errno(errno) != Errno.EAGAIN) {
                throw new ErrnoException("write(eventfd " + fd.num() + ", " + value + ")", Native.errno(errno));
            }
        }
    }

    /** Reads and clears the counter; 0 if nothing was signalled since the last read. */
    public long drain() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment buf = arena.allocate(ValueLayout.JAVA_LONG);
            long n;
            do {
                n = READ.call(errno, fd.num(), Native.ptr(buf), 8L);
            } while (n < 0 && Native.errno(errno) == Errno.EINTR);
            if (n < 0) {
                if (Native.errno(errno) == Errno.EAGAIN) {
                    return 0;
                }
                throw new ErrnoException("read(eventfd " + fd.num() + ")", Native.errno(errno));
            }
            return buf.get(ValueLayout.JAVA_LONG, 0);
        }
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
