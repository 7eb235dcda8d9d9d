package io.vessel.runtime.it;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The receiving end of {@code --console-socket}: a listening Unix socket that accepts the
 * runtime's connection and takes the pty master it sends with SCM_RIGHTS (which Java's own
 * socket channels cannot receive), then reads and writes the terminal.
 */
@SuppressWarnings("restricted")
final class ConsoleSocket implements AutoCloseable {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout PTR = ValueLayout.ADDRESS;
    private static final MethodHandle SOCKET = h("socket", FunctionDescriptor.of(INT, INT, INT, INT));
    private static final MethodHandle BIND = h("bind", FunctionDescriptor.of(INT, INT, PTR, INT));
    private static final MethodHandle LISTEN = h("listen", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle ACCEPT = h("accept", FunctionDescriptor.of(INT, INT, PTR, PTR));
    private static final MethodHandle RECVMSG = h("recvmsg", FunctionDescriptor.of(LONG, INT, PTR, INT));
    private static final MethodHandle READ = h("read", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle WRITE = h("write", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle CLOSE = h("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle SHUTDOWN = h("shutdown", FunctionDescriptor.of(INT, INT, INT));

    private static MethodHandle h(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd);
    }

    final Path path;
    private final int listener;
    private CompletableFuture<Received> received;

    /** What came over one connection: the message (the pty's name) and the descriptor. */
    record Received(String text, int fd) {
    }

    ConsoleSocket(Path path) throws Throwable {
        this.path = path;
        listener = (int) SOCKET.invokeExact(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 02000000 /* CLOEXEC */, 0);
        if (listener < 0) {
            throw new IOException("socket failed");
        }
        try (Arena a = Arena.ofConfined()) {
            byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
            MemorySegment addr = a.allocate(110);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) 1);
            MemorySegment.copy(p, 0, addr, ValueLayout.JAVA_BYTE, 2, p.length);
            if ((int) BIND.invokeExact(listener, addr, 2 + p.length + 1) < 0
                    || (int) LISTEN.invokeExact(listener, 4) < 0) {
                throw new IOException("bind/listen on " + path + " failed");
            }
        }
        received = CompletableFuture.supplyAsync(this::acceptOne, r -> Thread.ofPlatform().daemon().start(r));
    }

    private Received acceptOne() {
        try (Arena a = Arena.ofConfined()) {
            int conn = (int) ACCEPT.invokeExact(listener, MemorySegment.NULL, MemorySegment.NULL);
            if (conn < 0) {
                throw new IllegalStateException("accept failed");
            }
            try {
                MemorySegment buf = a.allocate(4096);
                MemorySegment iov = a.allocate(16);
                iov.set(PTR, 0, buf);
                iov.set(LONG, 8, 4096);
                MemorySegment control = a.allocate(64, 8);
                MemorySegment msg = a.allocate(56);
                msg.set(PTR, 16, iov);
                msg.set(LONG, 24, 1);
                msg.set(PTR, 32, control);
                msg.set(LONG, 40, 64);
                long n = (long) RECVMSG.invokeExact(conn, msg, 0x40000000 /* MSG_CMSG_CLOEXEC */);
                if (n < 0) {
                    throw new IllegalStateException("recvmsg failed");
                }
                int fd = -1;
                if (msg.get(LONG, 40) >= 20 && control.get(INT, 8) == 1 && control.get(INT, 12) == 1) {
                    fd = control.get(INT, 16);
                }
                String text = new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                return new Received(text, fd);
            } finally {
                int ignored = (int) CLOSE.invokeExact(conn);
            }
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The pty master and its name, once the runtime has sent it. */
    Received await() throws Exception {
        return received.get(30, TimeUnit.SECONDS);
    }

    /** Starts accepting the next connection (after {@link #await} took the previous one). */
    void acceptNext() {
        received = CompletableFuture.supplyAsync(this::acceptOne, r -> Thread.ofPlatform().daemon().start(r));
    }

    static void write(int fd, String text) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            MemorySegment m = a.allocateFrom(ValueLayout.JAVA_BYTE, b);
            long n = (long) WRITE.invokeExact(fd, m, (long) b.length);
            if (n != b.length) {
                throw new IOException("short write to the terminal");
            }
        }
    }

    /** Reads the terminal until {@code until} appears, EOF/EIO, or the deadline; returns what came. */
    static String readUntil(int fd, String until, long millis) throws Exception {
        StringBuilder sb = new StringBuilder();
        CompletableFuture<Void> f = CompletableFuture.runAsync(() -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(4096);
                while (!sb.toString().contains(until)) {
                    long n = (long) READ.invokeExact(fd, buf, 4096L);
                    if (n <= 0) {
                        return;
                    }
                    synchronized (sb) {
                        sb.append(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                    }
                }
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
        try {
            f.get(millis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // return what came so far
        }
        synchronized (sb) {
            return sb.toString();
        }
    }

    static void close(int fd) throws Throwable {
        int ignored = (int) CLOSE.invokeExact(fd);
    }

    @Override
    public void close() throws IOException {
        try {
            int ignored = (int) SHUTDOWN.invokeExact(listener, 2);
            ignored = (int) CLOSE.invokeExact(listener);
        } catch (Throwable t) {
            throw new IOException(t);
        }
        java.nio.file.Files.deleteIfExists(path);
    }
}
