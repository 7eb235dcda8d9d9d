package io.vessel.runtime.it;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.Sockets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The receiving end of {@code --console-socket} (and of a seccomp {@code listenerPath}): a
 * listening Unix socket that accepts the runtime's connection and takes the descriptor it
 * sends with SCM_RIGHTS (which Java's own socket channels cannot receive).
 */
final class ConsoleSocket implements AutoCloseable {
    final Path path;
    private final Fd listener;
    private CompletableFuture<Received> received;

    /** What came over one connection: the message (the pty's name, or a JSON state) and the descriptor. */
    record Received(String text, int fd) {
    }

    ConsoleSocket(Path path) throws IOException {
        this.path = path;
        this.listener = Sockets.listen(path.toString());
        acceptNext();
    }

    private Received acceptOne() {
        try (Fd conn = Sockets.accept(listener)) {
            Sockets.Message m = Sockets.receive(conn, 4096);
            return new Received(m.text(), m.fds().length > 0 ? m.fds()[0].release() : -1);
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The descriptor and its message, once the runtime has sent them. */
    Received await() throws Exception {
        return received.get(30, TimeUnit.SECONDS);
    }

    /** Starts accepting the next connection (after {@link #await} took the previous one). */
    void acceptNext() {
        received = CompletableFuture.supplyAsync(this::acceptOne, r -> Thread.ofPlatform().daemon().start(r));
    }

    static void write(int fd, String text) throws IOException {
        Files.write(fd, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads the terminal until {@code until} appears, EOF/EIO, or the deadline; returns what came. */
    static String readUntil(int fd, String until, long millis) throws Exception {
        StringBuilder sb = new StringBuilder();
        CompletableFuture<Void> f = CompletableFuture.runAsync(() -> {
            byte[] buf = new byte[4096];
            try {
                while (!snapshot(sb).contains(until)) {
                    int n = Files.read(fd, buf);
                    if (n <= 0) {
                        return;
                    }
                    synchronized (sb) {
                        sb.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    }
                }
            } catch (ErrnoException e) {
                // EIO: the other end of the terminal is closed
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
        try {
            f.get(millis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // return what came so far
        }
        return snapshot(sb);
    }

    private static String snapshot(StringBuilder sb) {
        synchronized (sb) {
            return sb.toString();
        }
    }

    static void close(int fd) {
        Fd.adopt(fd).close();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        java.nio.file.Files.deleteIfExists(path);
    }
}
