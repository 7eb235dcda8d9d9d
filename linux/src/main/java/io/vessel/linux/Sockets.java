package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_LONG;
import static io.vessel.linux.Native.C_POINTER;

/** Unix-domain sockets at the descriptor level: socketpair, connect by path, and SCM_RIGHTS passing. */
public final class Sockets {
    public static final int AF_UNIX = 1;
    public static final int SOCK_STREAM = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 02000000;
    private static final int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** struct msghdr on x86-64: name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48. */
    private static final long MSGHDR_SIZE = 56;
    /** struct cmsghdr: len (size_t) 0, level 8, type 12, data 16. */
    private static final long CMSG_DATA = 16;
    private static final int MAX_FDS = 16;

    private Sockets() {
    }

    private static final Native.Function SOCKETPAIR = Native.function("socketpair");
    private static final Native.Function SOCKET = Native.function("socket");
    private static final Native.Function CONNECT = Native.function("connect");
    private static final Native.Function BIND = Native.function("bind");
    private static final Native.Function LISTEN = Native.function("listen");
    private static final Native.Function ACCEPT4 = Native.function("accept4");
    private static final Native.Function SENDMSG = Native.function("sendmsg");
    private static final Native.Function RECVMSG = Native.function("recvmsg");

    /** socketpair(2) of AF_UNIX sockets of {@code type}, close-on-exec. */
    public static Fd[] socketpair(int type) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment sv = arena.allocate(C_INT, 2);
            int r = (int) SOCKETPAIR.call(errno, AF_UNIX, type | SOCK_CLOEXEC, 0, Native.ptr(sv));
            Native.check(r, errno, () -> "socketpair(AF_UNIX, " + type + ")");
            return new Fd[]{Fd.adopt(sv.getAtIndex(C_INT, 0)), Fd.adopt(sv.getAtIndex(C_INT, 1))};
        }
    }

    /** socket(2) flag: the socket's operations do not block (O_NONBLOCK). */
    public static final int SOCK_NONBLOCK = 04000;
    /** Bytes in sockaddr_un's sun_path, its terminating NUL included (include/uapi/linux/un.h). */
    private static final int SUN_PATH = 108;

    /** A stream socket connected to the Unix socket at {@code path}. */
    public static Fd connect(String path) throws ErrnoException {
        return unix(path, SOCK_STREAM, 0, -1);
    }

    /** A stream socket bound to {@code path} and listening (a backlog of 8). */
    public static Fd listen(String path) throws ErrnoException {
        return unix(path, SOCK_STREAM, 0, 8);
    }

    /**
     * A close-on-exec Unix socket of {@code type} ({@link #SOCK_STREAM}, {@link #SOCK_SEQPACKET}) with
     * {@code flags} ({@link #SOCK_NONBLOCK}), connected to {@code path}, or with {@code backlog} >= 0 bound
     * to it and listening. The one place a sockaddr_un is made; on failure the socket is closed.
     */
    public static Fd unix(String path, int type, int flags, int backlog) throws ErrnoException {
        boolean listen = backlog >= 0;
        String call = (listen ? "bind" : "connect") + "(\"" + path + "\")";
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= SUN_PATH) {
            throw new ErrnoException(call + ": path longer than sun_path (" + (SUN_PATH - 1) + " bytes)",
                    Errno.ENAMETOOLONG);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int s = (int) SOCKET.call(errno, AF_UNIX, type | flags | SOCK_CLOEXEC, 0);
            Native.check(s, errno, () -> "socket(AF_UNIX, " + type + ", 0x" + Integer.toHexString(flags) + ")");
            Fd fd = Fd.adopt(s);
            MemorySegment addr = arena.allocate(2 + SUN_PATH);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(p, 0, addr, ValueLayout.JAVA_BYTE, 2, p.length);
            int r = listen ? (int) BIND.call(errno, s, Native.ptr(addr), 2 + p.length + 1)
                    : (int) CONNECT.call(errno, s, Native.ptr(addr), 2 + p.length + 1);
            if (r == 0 && listen) {
                call = "listen(\"" + path + "\", " + backlog + ")";
                r = (int) LISTEN.call(errno, s, backlog);
            }
            if (r < 0) {
                int e = Native.errno(errno);
                fd.close();
                throw new ErrnoException(call, e);
            }
            return fd;
        }
    }

    /** accept4(2): the next connection to a listening socket, close-on-exec. */
    public static Fd accept(Fd listener) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r;
            do {
                r = (int) ACCEPT4.call(errno, listener.num(), 0, 0,
                        SOCK_CLOEXEC);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            Native.check(r, errno, () -> "accept(" + listener + ")");
            return Fd.adopt(r);
        }
    }

    /** Sends {@code data} (at least one byte) with the given descriptors attached as SCM_RIGHTS. */
    public static void send(Fd socket, byte[] data, int... fds) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, data.length == 0 ? new byte[1] : data);
            MemorySegment iov = arena.allocate(16);
            iov.set(C_POINTER, 0, buf);
            iov.set(C_LONG, 8, Math.max(1, data.length));
            MemorySegment msg = arena.allocate(MSGHDR_SIZE);
            msg.set(C_POINTER, 16, iov);
            msg.set(C_LONG, 24, 1);
            if (fds.length > 0) {
                long len = CMSG_DATA + 4L * fds.length;
                MemorySegment cmsg = arena.allocate((len + 7) & ~7L, 8);
                cmsg.set(C_LONG, 0, len);
                cmsg.set(C_INT, 8, SOL_SOCKET);
                cmsg.set(C_INT, 12, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) {
                    cmsg.set(C_INT, CMSG_DATA + 4L * i, fds[i]);
                }
                msg.set(C_POINTER, 32, cmsg);
                msg.set(C_LONG, 40, cmsg.byteSize());
            }
            long r;
            do {
                r = SENDMSG.call(errno, socket.num(), Native.ptr(msg), 0);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            Native.check(r, errno, () -> "sendmsg(" + socket + ", " + fds.length + " fds)");
        }
    }

    /** A received message: its bytes (empty at end of stream) and any descriptors that came with it. */
    public record Message(byte[] data, Fd[] fds) {
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }

        public boolean isEof() {
            return data.length == 0 && fds.length == 0;
        }
    }

    /** Receives one message of at most {@code max} bytes, descriptors arriving close-on-exec. */
    public static Message receive(Fd socket, int max) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment buf = arena.allocate(max);
            MemorySegment iov = arena.allocate(16);
            iov.set(C_POINTER, 0, buf);
            iov.set(C_LONG, 8, max);
            long controlLen = CMSG_DATA + 4L * MAX_FDS;
            MemorySegment control = arena.allocate(controlLen, 8);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE);
            msg.set(C_POINTER, 16, iov);
            msg.set(C_LONG, 24, 1);
            msg.set(C_POINTER, 32, control);
            msg.set(C_LONG, 40, controlLen);
            long n;
            do {
                n = RECVMSG.call(errno, socket.num(), Native.ptr(msg), MSG_CMSG_CLOEXEC);
            } while (n < 0 && Native.errno(errno) == Errno.EINTR);
            Native.check(n, errno, () -> "recvmsg(" + socket + ")");
            Fd[] fds = new Fd[0];
            long got = msg.get(C_LONG, 40);
            if (got >= CMSG_DATA && control.get(C_INT, 8) == SOL_SOCKET && control.get(C_INT, 12) == SCM_RIGHTS) {
                int count = (int) ((control.get(C_LONG, 0) - CMSG_DATA) / 4);
                fds = new Fd[count];
                for (int i = 0; i < count; i++) {
                    fds[i] = Fd.adopt(control.get(C_INT, CMSG_DATA + 4L * i));
                }
            }
            byte[] data = Arrays.copyOf(buf.toArray(ValueLayout.JAVA_BYTE), (int) n);
            return new Message(data, fds);
        }
    }
}
