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
    private final CompletableFuture<Fd> master;
    private String savedMode;
    private Thread output;
    private Runnable restoreWinch = () -> { };

    private TerminalRelay(Path socketPath, Fd listener) {
        this.socketPath = socketPath;
        this.listener = listener;
        this.master = CompletableFuture.supplyAsync(this::acceptMaster,
                r -> Thread.ofPlatform().daemon().name("console-socket").start(r));
    }

    /** Listens on a console socket in {@code dir}. */
    static TerminalRelay open(Path dir) throws IOException {
        Path path = dir.resolve(".console-" + ProcessHandle.current().pid() + ".sock");
        java.nio.file.Files.deleteIfExists(path);
        return new TerminalRelay(path, Sockets.listen(path.toString()));
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
        restoreWinch = installWinch(pty);
        Thread.ofPlatform().daemon().name("terminal-in").start(() -> pump(new FileInputStream(FileDescriptor.in), pty));
        output = Thread.ofPlatform().daemon().name("terminal-out").start(() -> drain(pty));
    }

    private static void pump(InputStream in, Fd pty) {
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                Files.write(pty.num(), java.util.Arrays.copyOf(buf, n));
            }
            Files.write(pty.num(), new byte[]{EOT});
        } catch (IOException ignored) {
            // the container went away, or our stdin did
        }
    }

    private static void drain(Fd pty) {
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = Files.read(pty.num(), buf)) > 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (ErrnoException e) {
            // EIO: every process of the container has closed the terminal
            if (e.errno() != Errno.EIO) {
                System.err.println("vessel-runtime: terminal: " + e.getMessage());
            }
        } catch (IOException ignored) {
            // our stdout went away
        }
    }

    /** Copies our terminal's size to the container's (nothing when stdin is not a terminal). */
    private static void resize(Fd pty) {
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

    @SuppressWarnings("removal")
    private static Runnable installWinch(Fd pty) {
        try {
            sun.misc.Signal winch = new sun.misc.Signal("WINCH");
            sun.misc.SignalHandler old = sun.misc.Signal.handle(winch, s -> resize(pty));
            return () -> sun.misc.Signal.handle(winch, old);
        } catch (IllegalArgumentException e) {
            return () -> { };
        }
    }

    /** Runs stty on our stdin; its output, or null when stdin is not a terminal. */
    private static String stty(String... args) {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("stty"));
        cmd.addAll(java.util.List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.INHERIT)
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
