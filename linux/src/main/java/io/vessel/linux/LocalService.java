package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.vessel.linux.Native.C_INT;

/**
 * What a per-user service on a Unix socket needs beyond {@link Sockets}: a listening
 * SOCK_SEQPACKET socket (messages keep their boundaries, so descriptors arrive with the message
 * they belong to), the credentials of the peer (SO_PEERCRED: who is really on the other end),
 * and poll(2) with a timeout for reads that must be able to give up.
 */
public final class LocalService {
    /** SOL_SOCKET level and SO_PEERCRED option, from asm-generic/socket.h. */
    private static final int SOL_SOCKET = 1, SO_PEERCRED = 17;
    /** struct ucred: pid, uid, gid, three ints. */
    private static final long UCRED_SIZE = 12;
    /** poll(2) event bits, from asm-generic/poll.h. */
    public static final short POLLIN = 0x1, POLLHUP = 0x10, POLLERR = 0x8, POLLNVAL = 0x20;

    private LocalService() {
    }

    private static final Native.Function GETSOCKOPT = Native.function("getsockopt");
    private static final Native.Function POLL = Native.function("poll");

    /** The process on the other end of a Unix socket, as the kernel recorded it at connect time. */
    public record PeerCredentials(int pid, int uid, int gid) {
    }

    /** A SOCK_SEQPACKET socket bound to {@code path} and listening, close-on-exec. */
    public static Fd listenSeqpacket(String path, int backlog) throws ErrnoException {
        return Sockets.unix(path, Sockets.SOCK_SEQPACKET, 0, backlog);
    }

    /** getsockopt(SO_PEERCRED): the pid, uid and gid of the peer of a connected Unix socket. */
    public static PeerCredentials peerCredentials(Fd socket) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment cred = arena.allocate(UCRED_SIZE, 4);
            MemorySegment len = arena.allocate(C_INT);
            len.set(C_INT, 0, (int) UCRED_SIZE);
            int r = (int) GETSOCKOPT.call(errno, socket.num(), SOL_SOCKET, SO_PEERCRED, Native.ptr(cred),
                    Native.ptr(len));
            Native.check(r, errno, () -> "getsockopt(" + socket.num() + ", SO_PEERCRED)");
            return new PeerCredentials(cred.get(C_INT, 0), cred.get(C_INT, 4), cred.get(C_INT, 8));
        }
    }

    /**
     * poll(2) on one descriptor for {@code events}: the events that happened (0 on timeout).
     * {@code timeoutMillis} &lt; 0 waits without limit. EINTR counts as a timeout.
     */
    public static int poll(int fd, short events, int timeoutMillis) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment pfd = arena.allocate(8, 4); // struct pollfd: int fd, short events, short revents
            pfd.set(C_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, events);
            int r = (int) POLL.call(errno, Native.ptr(pfd), 1L, timeoutMillis);
            if (r < 0) {
                int e = Native.errno(errno);
                if (e == Errno.EINTR) {
                    return 0;
                }
                throw new ErrnoException("poll(" + fd + ")", e);
            }
            return r == 0 ? 0 : pfd.get(ValueLayout.JAVA_SHORT, 6) & 0xffff;
        }
    }
}
