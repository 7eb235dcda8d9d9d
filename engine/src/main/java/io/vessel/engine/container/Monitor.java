package io.vessel.engine.container;

import io.vessel.json.JsonNode;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.Processes;
import io.vessel.linux.Signals;
import io.vessel.linux.Sockets;
import io.vessel.runtime.process.Launcher;
import io.vessel.runtime.process.LauncherStarter;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's side of {@code native/vessel-monitor}: starting one for a container run (or an exec)
 * and talking to a running one through its attach socket. The monitor, not the engine, is the
 * container process's parent; it owns the container's stdio, its json-file log and its exit status,
 * so a container outlives an engine that crashes, and the next engine finds it through these files.
 */
public final class Monitor {
    /** The attach socket's name in the monitor's socket directory (see vessel-monitor.c). */
    static final String ATTACH_SOCKET = "a";
    /** The console socket's name: the container's init sends its pty master there. */
    static final String CONSOLE_SOCKET = "c";
    /** Longest Unix socket path: sizeof(sockaddr_un.sun_path) minus the terminating NUL. */
    static final int SUN_PATH_MAX = 107;

    private Monitor() {
    }

    /**
     * Where one monitor works.
     *
     * @param sockDir  its sockets (a short path: sun_path holds 107 bytes)
     * @param log      the json-file log, or null for none (execs)
     * @param exitFile where the exit status is written atomically
     * @param errFile  the monitor's own diagnostics
     */
    public record Paths(Path sockDir, Path log, Path exitFile, Path errFile) {
        public Paths {
            if (sockDir.resolve(ATTACH_SOCKET).toString().length() > SUN_PATH_MAX) {
                throw new IllegalArgumentException("the monitor's socket directory " + sockDir
                        + " is too long for a Unix socket path (at most " + SUN_PATH_MAX + " bytes with the name)");
            }
        }

        public Path attachSocket() {
            return sockDir.resolve(ATTACH_SOCKET);
        }

        public Path consoleSocket() {
            return sockDir.resolve(CONSOLE_SOCKET);
        }
    }

    /** Log rotation, Docker's json-file {@code max-size} (bytes, -1 unlimited) and {@code max-file}. */
    public record LogConfig(long maxSize, int maxFile) {
        public static final LogConfig DEFAULT = new LogConfig(-1, 1);

        public LogConfig {
            if (maxFile < 1) {
                throw new IllegalArgumentException("log-opt max-file must be at least 1, not " + maxFile);
            }
            if (maxSize == 0 || maxSize < -1) {
                throw new IllegalArgumentException("log-opt max-size must be positive (or unset), not " + maxSize);
            }
        }
    }

    /** Where vessel-monitor is: -Dvessel.monitor, $VESSEL_MONITOR, else beside vessel-launch. */
    public static Path binary() {
        String p = System.getProperty("vessel.monitor");
        if (p == null) {
            p = System.getenv("VESSEL_MONITOR");
        }
        if (p != null) {
            return Path.of(p);
        }
        Path beside = Launcher.binary().resolveSibling("vessel-monitor");
        if (!java.nio.file.Files.isExecutable(beside)) {
            throw new IllegalStateException("vessel-monitor not found beside " + Launcher.binary()
                    + ": build it with 'make build' or set VESSEL_MONITOR");
        }
        return beside;
    }

    /**
     * A monitor that has started the launcher and waits to be told the container's pid. Give
     * {@link #starter()} to the runtime's create or exec, then {@link #name} the process, then close.
     */
    public static final class Started implements AutoCloseable {
        private final Fd control;
        private Fd sync;
        private final int pid;
        private final int launcherPid;
        private Integer launcherExit;

        private Started(Fd control, Fd sync, int pid, int launcherPid) {
            this.control = control;
            this.sync = sync;
            this.pid = pid;
            this.launcherPid = launcherPid;
        }

        public int pid() {
            return pid;
        }

        /** The runtime's launcher, started by this monitor over its sync socket. */
        public LauncherStarter starter() {
            return (plan, stdio) -> {
                Fd s = sync;
                sync = null;
                if (s == null) {
                    throw new IOException("this monitor's launcher was used already");
                }
                return Launcher.over(plan, s, new Launcher.Parent() {
                    @Override
                    public int waitFor() throws IOException {
                        return launcherExit();
                    }

                    @Override
                    public Integer exitedCode() {
                        return launcherExit;
                    }

                    @Override
                    public void kill() {
                        try {
                            Processes.kill(launcherPid, Signals.SIGKILL);
                        } catch (ErrnoException ignored) {
                            // gone already
                        }
                    }
                });
            };
        }

        private synchronized int launcherExit() throws IOException {
            while (launcherExit == null) {
                String line = readLine(control);
                if (line == null) {
                    throw new IOException("the monitor (pid " + pid + ") exited before its launcher did");
                }
                if (line.startsWith("launcher-exit ")) {
                    launcherExit = Integer.parseInt(line.substring(14).trim());
                }
            }
            return launcherExit;
        }

        /** Tells the monitor which process is the container's: its exit status is the one kept. */
        public void name(int containerPid) throws IOException {
            Files.write(control.num(), ("pid " + containerPid + "\n").getBytes(StandardCharsets.US_ASCII));
        }

        /** Lets the monitor go on alone (without a named pid: it exits once its children are gone). */
        @Override
        public void close() {
            control.close();
            if (sync != null) {
                sync.close();
            }
        }
    }

    /**
     * Starts a monitor: it detaches (its first process is reaped here at once), listens on its
     * sockets and starts {@code vessel-launch fd 3}, which waits for the runtime's plan.
     */
    public static Started start(Paths p, LogConfig log, boolean tty, boolean stdin) throws IOException {
        java.nio.file.Files.createDirectories(p.sockDir());
        List<String> argv = new ArrayList<>(List.of("vessel-monitor", "-s", p.sockDir().toString(), "-x",
                p.exitFile().toString()));
        if (p.log() != null) {
            argv.addAll(List.of("-l", p.log().toString(), "-m", Long.toString(log.maxSize()), "-n",
                    Integer.toString(log.maxFile())));
        }
        if (tty) {
            argv.add("-t");
        }
        if (stdin) {
            argv.add("-i");
        }
        argv.addAll(List.of("--", Launcher.binary().toString(), "fd", "3"));
        Fd[] sync = Sockets.socketpair(Sockets.SOCK_STREAM);
        Fd[] control = Sockets.socketpair(Sockets.SOCK_STREAM);
        try (Fd devnull = Files.open("/dev/null", Files.O_RDWR, 0);
             Fd err = Files.open(p.errFile().toString(), Files.O_WRONLY | Files.O_CREAT | Files.O_APPEND, 0600)) {
            int first = Processes.spawn(binary().toString(), argv, List.of(),
                    new int[]{devnull.num(), devnull.num(), err.num(), sync[1].num(), control[1].num()});
            Processes.waitFor(first); // the monitor's first process exits once the second has forked
        } catch (IOException | RuntimeException e) {
            sync[0].close();
            control[0].close();
            throw e;
        } finally {
            sync[1].close();
            control[1].close();
        }
        String hello = readLine(control[0]);
        if (hello == null || !hello.startsWith("monitor ")) {
            sync[0].close();
            control[0].close();
            String why = hello != null && hello.startsWith("error ") ? hello.substring(6) : errText(p.errFile());
            throw new IOException("the container's monitor failed to start: " + why);
        }
        String[] pids = hello.substring(8).trim().split(" ");
        return new Started(control[0], sync[0], Integer.parseInt(pids[0]), Integer.parseInt(pids[1]));
    }

    private static String errText(Path errFile) {
        try {
            String s = java.nio.file.Files.readString(errFile).strip();
            return s.isEmpty() ? "no message (see " + errFile + ")" : s;
        } catch (IOException e) {
            return "no message (see " + errFile + ")";
        }
    }

    private static String readLine(Fd fd) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(64);
        byte[] one = new byte[1];
        while (true) {
            if (Files.read(fd.num(), one) != 1) {
                return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            }
            if (one[0] == '\n') {
                return line.toString(StandardCharsets.UTF_8);
            }
            line.write(one[0]);
        }
    }

    // ---------------------------------------------------------------- clients of a running monitor

    /**
     * A connection to a container's streams. Without a terminal, {@link #output()} carries Docker's
     * multiplexed frames (8-byte header: stream 1 or 2, three zeros, big-endian length); with one,
     * raw bytes. {@link #input()} goes to the container's stdin.
     */
    public static final class Attach implements Closeable {
        private final SocketChannel channel;
        private final InputStream output;
        private final OutputStream input;

        private Attach(SocketChannel channel, InputStream output) {
            this.channel = channel;
            this.output = output;
            this.input = Channels.newOutputStream(channel);
        }

        public InputStream output() {
            return output;
        }

        public OutputStream input() {
            return input;
        }

        /** Ends this client's stdin (the container's too, if attached with {@code closeStdin}). */
        public void closeInput() throws IOException {
            channel.shutdownOutput();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Attaches to the monitor at {@code socket}; returns once the monitor has registered the client. */
    public static Attach attach(Path socket, boolean stdin, boolean stdout, boolean stderr, boolean closeStdin)
            throws IOException {
        SocketChannel ch = connect(socket);
        try {
            String flags = (stdin ? "i" : "") + (stdout ? "o" : "") + (stderr ? "e" : "") + (closeStdin ? "c" : "");
            ch.write(ByteBuffer.wrap(("attach " + flags + "\n").getBytes(StandardCharsets.US_ASCII)));
            InputStream in = Channels.newInputStream(ch);
            String reply = readLine(in);
            if (!"ok".equals(reply)) {
                throw new IOException("the container's monitor refused to attach: " + reply);
            }
            return new Attach(ch, in);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Sets the size of the container's terminal. */
    public static void resize(Path socket, int rows, int cols) throws IOException {
        if (rows <= 0 || cols <= 0 || rows > 0xffff || cols > 0xffff) {
            throw new IllegalArgumentException("terminal size " + rows + "x" + cols + " out of range (1..65535)");
        }
        try (SocketChannel ch = connect(socket)) {
            ch.write(ByteBuffer.wrap(("resize " + rows + " " + cols + "\n").getBytes(StandardCharsets.US_ASCII)));
            String reply = readLine(Channels.newInputStream(ch));
            if (!"ok".equals(reply)) {
                throw new IllegalStateException(reply == null ? "the container's monitor has exited"
                        : reply.startsWith("error ") ? reply.substring(6) : reply);
            }
        }
    }

    /**
     * Blocks until the monitored process exits; returns its status in the shell's convention, or
     * null if the monitor is gone (or goes) without saying (then read the exit file).
     */
    public static Integer awaitExit(Path socket) {
        try (SocketChannel ch = connect(socket)) {
            ch.write(ByteBuffer.wrap("wait\n".getBytes(StandardCharsets.US_ASCII)));
            String reply = readLine(Channels.newInputStream(ch));
            return reply != null && reply.startsWith("exit ") ? Integer.valueOf(reply.substring(5).trim()) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether a monitor listens at {@code socket}. */
    public static boolean alive(Path socket) {
        if (!java.nio.file.Files.exists(socket)) {
            return false;
        }
        try (SocketChannel ignored = connect(socket)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static SocketChannel connect(Path socket) throws IOException {
        try {
            return SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (java.net.SocketException | NoSuchFileException e) {
            throw new IOException("the container's monitor is not running (" + socket + ": " + e.getMessage() + ")",
                    e);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(32);
        while (true) {
            int b = in.read();
            if (b < 0) {
                return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            }
            if (b == '\n') {
                return line.toString(StandardCharsets.UTF_8);
            }
            line.write(b);
        }
    }

    /** How the monitored process ended, as the monitor wrote it. */
    public record Exit(int pid, int exitCode, int signal, Instant finishedAt) {
    }

    /** The exit file, or null if there is none (yet). */
    public static Exit readExit(Path exitFile) throws IOException {
        String text;
        try {
            text = java.nio.file.Files.readString(exitFile);
        } catch (NoSuchFileException e) {
            return null;
        }
        JsonNode n = JsonNode.parse(exitFile.toString(), text);
        return new Exit(n.get("pid").intValue(), n.get("exitCode").intValue(), n.get("signal").intValue(),
                Instant.parse(n.get("finishedAt").string()));
    }
}
