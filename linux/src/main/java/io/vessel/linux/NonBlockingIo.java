package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static io.vessel.linux.Native.C_LONG;
import static io.vessel.linux.Native.C_POINTER;

/**
 * Reads and writes on non-blocking descriptors, straight between the descriptor and native memory
 * (a tap, a Unix stream): an event loop must never block, and a device moves bytes between a
 * descriptor and guest RAM without a bounce buffer ({@code readv}/{@code writev} over the guest's
 * own segments). "Would block" is a result here ({@link #WOULD_BLOCK}), not an exception.
 */
public final class NonBlockingIo {
    /** Returned by the calls below when the descriptor is not ready (EAGAIN). */
    public static final long WOULD_BLOCK = -1;
    /** IOV_MAX on Linux: the same limit as {@link IoVector#IOV_MAX}. */
    public static final int IOV_MAX = IoVector.IOV_MAX;
    // fcntl.h
    private static final int F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 04000;
    /** shutdown(2) how: sys/socket.h. */
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
    /** send(2) flag: no SIGPIPE on a closed peer, EPIPE instead. */
    private static final int MSG_NOSIGNAL = 0x4000;

    private NonBlockingIo() {
    }

    private static final Native.Function READ = Native.function("read");
    private static final Native.Function READV = Native.function("readv");
    private static final Native.Function WRITEV = Native.function("writev");
    private static final Native.Function SEND = Native.function("send");
    private static final Native.Function FCNTL = Native.function("fcntl");
    private static final Native.Function SHUTDOWN = Native.function("shutdown");

    /** Sets O_NONBLOCK on {@code fd}. */
    public static void setNonBlocking(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int flags = (int) FCNTL.call(errno, fd, F_GETFL, 0);
            Native.check(flags, errno, () -> "fcntl(" + fd + ", F_GETFL)");
            int r = (int) FCNTL.call(errno, fd, F_SETFL, flags | O_NONBLOCK);
            Native.check(r, errno, () -> "fcntl(" + fd + ", F_SETFL, O_NONBLOCK)");
        }
    }

    /** read(2) into {@code buf}: the count (0 at end of stream) or {@link #WOULD_BLOCK}. */
    public static long read(int fd, MemorySegment buf) throws ErrnoException {
        MemorySegment errno = Native.scratch().errno; // per frame or packet on a device's path: no arena
        long n;
        do {
            n = READ.call(errno, fd, Native.ptr(buf), buf.byteSize());
        } while (n < 0 && Native.errno(errno) == Errno.EINTR);
        return result(n, errno, "read", fd);
    }

    /** readv(2) into {@code buffers} in order: the count (0 at end of stream) or {@link #WOULD_BLOCK}. */
    public static long readv(int fd, List<MemorySegment> buffers) throws ErrnoException {
        return vectored(fd, buffers, true);
    }

    /** writev(2) of {@code buffers} in order: the count written (maybe short) or {@link #WOULD_BLOCK}. */
    public static long writev(int fd, List<MemorySegment> buffers) throws ErrnoException {
        return vectored(fd, buffers, false);
    }

    private static long vectored(int fd, List<MemorySegment> buffers, boolean read) throws ErrnoException {
        if (buffers.size() > IOV_MAX) {
            throw new IllegalArgumentException((read ? "readv" : "writev") + " of " + buffers.size()
                    + " buffers, more than IOV_MAX " + IOV_MAX);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment iov = arena.allocate(16L * Math.max(1, buffers.size()), 8);
            for (int i = 0; i < buffers.size(); i++) {
                iov.set(C_POINTER, 16L * i, buffers.get(i));
                iov.set(C_LONG, 16L * i + 8, buffers.get(i).byteSize());
            }
            long n;
            do {
                n = read ? READV.call(errno, fd, Native.ptr(iov), buffers.size())
                        : WRITEV.call(errno, fd, Native.ptr(iov), buffers.size());
            } while (n < 0 && Native.errno(errno) == Errno.EINTR);
            return result(n, errno, read ? "readv" : "writev", fd);
        }
    }

    /**
     * send(2) of {@code buf} on a socket without SIGPIPE: the count written (maybe short) or
     * {@link #WOULD_BLOCK}; a closed peer is an {@link ErrnoException} with EPIPE.
     */
    public static long send(int fd, MemorySegment buf) throws ErrnoException {
        MemorySegment errno = Native.scratch().errno;
        long n;
        do {
            n = SEND.call(errno, fd, Native.ptr(buf), buf.byteSize(), MSG_NOSIGNAL);
        } while (n < 0 && Native.errno(errno) == Errno.EINTR);
        return result(n, errno, "send", fd);
    }

    /** shutdown(2) of one or both directions of a socket. */
    public static void shutdown(int fd, int how) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) SHUTDOWN.call(errno, fd, how);
            Native.check(r, errno, () -> "shutdown(" + fd + ", " + how + ")");
        }
    }

    /**
     * A non-blocking, close-on-exec Unix stream socket connected to {@code path}. A listener whose
     * backlog is full fails with EAGAIN rather than making the caller wait.
     */
    public static Fd connectUnix(String path) throws ErrnoException {
        return Sockets.unix(path, Sockets.SOCK_STREAM, Sockets.SOCK_NONBLOCK, -1);
    }

    private static long result(long n, MemorySegment errno, String call, int fd) throws ErrnoException {
        if (n >= 0) {
            return n;
        }
        int e = Native.errno(errno);
        if (e == Errno.EAGAIN) {
            return WOULD_BLOCK;
        }
        throw new ErrnoException(call + "(" + fd + ")", e);
    }
}
