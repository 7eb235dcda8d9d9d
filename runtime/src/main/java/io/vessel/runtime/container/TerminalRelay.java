package io.vessel.runtime.container;

import io.vessel.linux.Errno;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.Ioctl;
import io.vessel.linux.Sockets;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The terminal of {@code run} when config.json asks for one and no {@code --console-socket} is
 * given, as runc's run does: the runtime listens on a console socket of its own, takes the
 * pty master the container's init sends there, and relays between it and its own stdio, with
 * the user's terminal in raw mode and its size passed on (also when it changes).
 */
public final class TerminalRelay implements AutoCloseable {
    /** Ctrl-D: what the container's terminal gets when our stdin ends. */
    private static final byte EOT = 4;

    private final Path socketPath;
    private final Fd listener;
    private final Caller caller;
    private volatile boolean closed;
    private final CompletableFuture<Fd> master;
    private String savedMode;
    private Thread output;
    private Runnable restoreWinch = () -> { };

    private TerminalRelay(Path socketPath, Fd listener, Caller caller) {
        this.socketPath = socketPath;
        this.listener = listener;
        this.caller = caller;
        this.master = CompletableFuture.supplyAsync(this::acceptMaster,
                r -> Thread.ofPlatform().daemon().name("console-socket").start(r));
    }

    /** Tells apart the relays of one process (the service relays for several callers at once). */
    private static final java.util.concurrent.atomic.AtomicLong SERIAL = new java.util.concurrent.atomic.AtomicLong();

    /** Listens on a console socket in {@code dir}, for {@code caller}'s stdio. */
    static TerminalRelay open(Path dir, Caller caller) throws IOException {
        Path path = dir.resolve(".console-" + ProcessHandle.current().pid() + "-" + SERIAL.incrementAndGet() + ".sock");
        java.nio.file.Files.deleteIfExists(path);
        return new TerminalRelay(path, Sockets.listen(path.toString()), caller);
    }

    String socketPath() {
        return socketPath.toString();
    }

    private Fd acceptMaster() {
        try (Fd conn = Sockets.accept(listener)) {
            Sockets.Message m = Sockets.receive(conn, 256);
            if (m.fds().length != 1) {
                throw new IllegalStateException("the console socket got no terminal");
            }
            return m.fds()[0];
        } catch (ErrnoException e) {
            throw new IllegalStateException("console socket: " + e.getMessage(), e);
        }
    }

    /** Starts relaying once the container's terminal has arrived (the init sends it before "ready"). */
    public void start() throws RuntimeError {
        Fd pty;
        try {
            pty = master.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new RuntimeError("the container's terminal did not arrive: " + e.getMessage(), e);
        }
        savedMode = stty("-g");
        if (savedMode != null) {
            stty("raw", "-echo");
        }
        resize(pty);
        restoreWinch = caller.signals().forward(sig -> {
            if (sig == io.vessel.linux.Signals.parse("WINCH")) {
                resize(pty);
            }
        });
        Thread.ofPlatform().daemon().name("terminal-in").start(() -> pump(pty));
        output = Thread.ofPlatform().daemon().name("terminal-out").start(() -> drain(pty));
    }

    /** How often the input relay looks whether the relay has closed while the caller types nothing. */
    private static final int INPUT_POLL_MILLIS = 200;

    /**
     * Caller's stdin to the container's terminal. It polls, rather than blocks in read, so that it
     * stops when the relay closes: in the service the caller's descriptors close with its request,
     * and a read left waiting would take the next keystroke from whatever reuses the number.
     */
    private void pump(Fd pty) {
        byte[] buf = new byte[4096];
        try {
            while (!closed) {
                int ev = io.vessel.linux.LocalService.poll(caller.stdin(), io.vessel.linux.LocalService.POLLIN,
                        INPUT_POLL_MILLIS);
                if (ev == 0) {
                    continue;
                }
                if (closed) {
                    return;
                }
                int n = Files.read(caller.stdin(), buf);
                if (n <= 0) {
                    break;
                }
                Files.write(pty.num(), java.util.Arrays.copyOf(buf, n));
            }
            if (!closed) {
                Files.write(pty.num(), new byte[]{EOT});
            }
        } catch (IOException ignored) {
            // the container went away, or our stdin did
        }
    }

    private void drain(Fd pty) {
        OutputStream out = caller.out();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = Files.read(pty.num(), buf)) > 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (ErrnoException e) {
            // EIO: every process of the container has closed the terminal
            if (e.errno() != Errno.EIO) {
                caller.err().println("vessel-runtime: terminal: " + e.getMessage());
            }
        } catch (IOException ignored) {
            // our stdout went away
        }
    }

    /** Copies our terminal's size to the container's (nothing when stdin is not a terminal). */
    private void resize(Fd pty) {
        String size = stty("size");
        if (size == null) {
            return;
        }
        String[] rc = size.trim().split(" ");
        try {
            Ioctl.setWindowSize(pty.num(), Integer.parseInt(rc[0]), Integer.parseInt(rc[1]));
        } catch (ErrnoException | RuntimeException ignored) {
            // a terminal that reports no size keeps the default
        }
    }

    /** Runs stty on the caller's stdin; its output, or null when that is not a terminal. */
    private String stty(String... args) {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("stty"));
        cmd.addAll(java.util.List.of(args));
        try {
            // The caller's terminal is reopened through /proc when it is not our own stdin: a
            // terminal's mode and size belong to the device, not to the descriptor.
            ProcessBuilder.Redirect in = caller.stdin() == 0 ? ProcessBuilder.Redirect.INHERIT
                    : ProcessBuilder.Redirect.from(new java.io.File("/proc/self/fd/" + caller.stdin()));
            Process p = new ProcessBuilder(cmd).redirectInput(in)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Waits briefly for the last output, puts our terminal back as it was, closes everything. */
    @Override
    public void close() {
        closed = true;
        if (output != null) {
            try {
                output.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        restoreWinch.run();
        if (savedMode != null) {
            stty(savedMode);
        }
        listener.close();
        master.thenAccept(Fd::close);
        try {
            java.nio.file.Files.deleteIfExists(socketPath);
        } catch (IOException ignored) {
            // a stale socket file is harmless: the next run replaces it
        }
    }
}
