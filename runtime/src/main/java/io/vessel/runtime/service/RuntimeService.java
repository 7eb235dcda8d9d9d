package io.vessel.runtime.service;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.LocalService;
import io.vessel.linux.Sockets;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The warm half of {@code vessel-runtime}: a JVM that stays up for one user and runs the
 * runtime's unchanged command line for each client ({@code native/vessel-runtime.c}) that
 * connects, each on its own thread with that client's descriptors, cwd and environment. A JVM
 * start costs more than a whole container's creation; kept warm, the planner's work is a few
 * milliseconds, and the client that forks the launcher stays as small as runc.
 *
 * <p>Started by the first client that finds no service (environment: {@code
 * VESSEL_RUNTIME_SERVE} the socket path, {@code VESSEL_RUNTIME_IDLE} seconds without a request
 * before it exits, default {@link #DEFAULT_IDLE}). Only one runs per socket: it holds a lock on
 * {@code <socket>.lock} for its whole life. It serves only its own uid (SO_PEERCRED), from a
 * directory only that uid can enter.
 */
public final class RuntimeService {
    /** Idle time before the service exits: long enough for a burst of podman calls, short enough not to linger. */
    static final Duration DEFAULT_IDLE = Duration.ofMinutes(5);
    /** Pending connections the kernel queues while every thread is busy accepting. */
    private static final int BACKLOG = 64;
    /** How often the idle watch looks at the clock. */
    private static final Duration IDLE_CHECK = Duration.ofSeconds(1);

    private final Path socket;
    private final Duration idle;
    private final int uid;
    private final Object activity = new Object();
    private final AtomicInteger active = new AtomicInteger();
    private long lastActivity = System.nanoTime();
    private boolean closing;

    RuntimeService(Path socket, Duration idle, int uid) {
        this.socket = socket;
        this.idle = idle;
        this.uid = uid;
    }

    public static void main(String[] args) {
        String path = System.getenv("VESSEL_RUNTIME_SERVE");
        if (path == null || !path.startsWith("/")) {
            System.err.println("vessel-runtime service: VESSEL_RUNTIME_SERVE must be the socket's absolute path");
            Runtime.getRuntime().halt(2);
        }
        Duration idle = DEFAULT_IDLE;
        String idleText = System.getenv("VESSEL_RUNTIME_IDLE");
        if (idleText != null) {
            try {
                idle = Duration.ofMillis((long) (Double.parseDouble(idleText) * 1000));
            } catch (NumberFormatException e) {
                System.err.println("vessel-runtime service: VESSEL_RUNTIME_IDLE must be seconds, not \"" + idleText + "\"");
                Runtime.getRuntime().halt(2);
            }
        }
        int code;
        try {
            code = new RuntimeService(Path.of(path), idle, ownUid()).serve();
        } catch (IOException | RuntimeException e) {
            System.err.println("vessel-runtime service: " + e.getMessage());
            code = 1;
        }
        Runtime.getRuntime().halt(code);
    }

    private static int ownUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /** Serves until idle; returns 0, or 0 at once when another service already holds the socket. */
    int serve() throws IOException {
        Path dir = socket.getParent();
        checkPrivate(dir);
        Path lockFile = dir.resolve(socket.getFileName() + ".lock");
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockChannel.tryLock()) {
            if (lock == null) {
                return 0; // another service runs (or is starting) on this socket: the client will find it
            }
            for (String problem : io.vessel.runtime.cgroup.RootCgroups.moveSelf()) {
                System.err.println("vessel-runtime service: staying in the caller's cgroup: " + problem);
            }
            Files.deleteIfExists(socket); // stale: its service held the lock, and it is free now
            Fd listener = LocalService.listenSeqpacket(socket.toString(), BACKLOG);
            Files.setPosixFilePermissions(socket, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
            Thread.ofPlatform().daemon().name("idle-watch").start(this::watchIdle);
            acceptLoop(listener);
            return 0;
        }
    }

    /** The socket's directory must be ours and closed to everyone else, or another user could swap the socket. */
    private void checkPrivate(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(dir + " is not a directory");
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (owner != uid || (mode & 077) != 0) {
            throw new IOException(dir + " must belong to uid " + uid + " with mode 0700 (it is uid " + owner
                    + ", mode 0" + Integer.toOctalString(mode & 07777) + ")");
        }
    }

    private void acceptLoop(Fd listener) {
        while (true) {
            Fd conn;
            try {
                conn = Sockets.accept(listener);
            } catch (ErrnoException e) {
                synchronized (activity) {
                    if (closing) {
                        return;
                    }
                }
                System.err.println("vessel-runtime service: " + e.getMessage());
                continue;
            }
            synchronized (activity) {
                if (closing) {
                    conn.close(); // the client sees no "ok" and starts a new service
                    return;
                }
                active.incrementAndGet();
            }
            Thread.ofPlatform().name("request").start(() -> {
                try {
                    new ClientSession(conn).serve(uid);
                } finally {
                    synchronized (activity) {
                        active.decrementAndGet();
                        lastActivity = System.nanoTime();
                    }
                }
            });
        }
    }

    /**
     * Exits once no request has run for the idle time. The socket goes first, under the same lock
     * that admits requests, so a client either got in before or finds no socket (or a closed
     * connection without "ok") and starts a new service.
     */
    private void watchIdle() {
        while (true) {
            try {
                Thread.sleep(IDLE_CHECK);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (activity) {
                if (active.get() == 0 && System.nanoTime() - lastActivity >= idle.toNanos()) {
                    closing = true;
                    try {
                        Files.deleteIfExists(socket);
                    } catch (IOException ignored) {
                        // exiting anyway; the next service removes it under the lock
                    }
                    Runtime.getRuntime().halt(0);
                }
            }
        }
    }
}
