package io.vessel.runtime.process;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.FdStreams;
import io.vessel.linux.Files;
import io.vessel.linux.Processes;
import io.vessel.linux.Signals;
import io.vessel.linux.Sockets;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Starts the native launcher ({@code vessel-launch}) with a plan and talks to it: the plan goes
 * first, then the launcher sends one line per event ("pid N", "hooks",
 * "ready", "error ...") and the runtime answers the "hooks" request with "ok STATE".
 *
 * <p>The usual way is plain JDK code: ProcessBuilder with the runtime's stdio inherited, and two
 * FIFOs the launcher makes and the runtime opens. Linking foreign functions costs more than a
 * container's whole creation in a short-lived command, so FFM ({@code posix_spawn} with exact
 * descriptor placement) is used only where the JDK cannot do it: passing extra descriptors
 * ({@code --preserve-fds}) or stdio other than the runtime's own.
 */
public final class Launcher {
    /** Descriptors the plan places for itself start here, above stdio, preserved fds and the socket. */
    public static int slotBase(int preserved) {
        return 3 + preserved + 4;
    }

    private Launcher() {
    }

    /** Where vessel-launch is: -Dvessel.launcher, $VESSEL_LAUNCHER, or an installed or built copy. */
    public static Path binary() {
        String p = System.getProperty("vessel.launcher");
        if (p == null) {
            p = System.getenv("VESSEL_LAUNCHER");
        }
        if (p != null) {
            return Path.of(p);
        }
        for (Path candidate : List.of(Path.of("/usr/local/lib/vessel/vessel-launch"), Path.of("build/vessel-launch"),
                Path.of("native/vessel-launch"))) {
            if (java.nio.file.Files.isExecutable(candidate)) {
                return candidate.toAbsolutePath();
            }
        }
        throw new IllegalStateException("vessel-launch not found: build it with 'make' or set VESSEL_LAUNCHER");
    }

    /** The container's stdio and the caller's descriptors 3.. to pass through. */
    public record Stdio(int stdin, int stdout, int stderr, int preserved) {
        public static final Stdio INHERIT = new Stdio(0, 1, 2, 0);

        boolean needsFfm() {
            return stdin != 0 || stdout != 1 || stderr != 2 || preserved > 0;
        }
    }

    /** A running launcher: its process and the socket it talks on. */
    public static final class Session implements AutoCloseable {
        private final Process process; // the JDK way
        private final int pid;         // the FFM way (process == null)
        private final InputStream in;
        private final OutputStream out;
        private final AutoCloseable channel;
        private final Parent parent;   // a launcher that is another process's child (process == null)
        private Integer exitCode;

        Session(Process process, int pid, InputStream in, OutputStream out, AutoCloseable channel) {
            this(process, pid, in, out, channel, null);
        }

        private Session(Process process, int pid, InputStream in, OutputStream out, AutoCloseable channel,
                        Parent parent) {
            this.process = process;
            this.pid = pid;
            this.in = in;
            this.out = out;
            this.channel = channel;
            this.parent = parent;
        }

        public int launcherPid() {
            return process != null ? (int) process.pid() : pid;
        }

        /** The next line, or null when every launcher process has closed the socket (exec, or exit). */
        public String next() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream(64);
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

        public void reply(String text) throws IOException {
            out.write((text + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /** Waits for the launcher to exit: its status, or 128 + signal. */
        public int waitFor() throws IOException {
            if (exitCode == null) {
                if (parent != null) {
                    exitCode = parent.waitFor();
                } else if (process != null) {
                    try {
                        exitCode = process.waitFor();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while waiting for the launcher");
                    }
                } else {
                    exitCode = Processes.waitFor(pid).shellCode();
                }
            }
            return exitCode;
        }

        /** The exit status if the launcher has ended, else null; never blocks. */
        public Integer exitedCode() {
            if (exitCode != null) {
                return exitCode;
            }
            if (parent != null) {
                return exitCode = parent.exitedCode();
            }
            try {
                if (process != null) {
                    if (!process.isAlive()) {
                        exitCode = process.exitValue();
                    }
                } else {
                    Processes.ExitStatus st = Processes.waitFor(Processes.P_PID, pid, Processes.WNOHANG);
                    if (st != null) {
                        exitCode = st.shellCode();
                    }
                }
            } catch (ErrnoException ignored) {
                // already reaped
            }
            return exitCode;
        }

        /** Kills the launcher (not the container it made) and reaps it. */
        public void kill() {
            if (exitedCode() != null) {
                return;
            }
            if (parent != null) {
                parent.kill();
            } else if (process != null) {
                process.destroyForcibly();
            } else {
                try {
                    Processes.kill(pid, Signals.SIGKILL);
                } catch (ErrnoException ignored) {
                    // gone
                }
            }
            try {
                waitFor();
            } catch (IOException ignored) {
                // reaped elsewhere
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (Exception ignored) {
                // nothing to do about a failing close
            }
        }
    }

    /**
     * The process that started a launcher which is not this runtime's child: it alone can wait for
     * the launcher, and reports how it ended.
     */
    public interface Parent {
        /** Blocks until the launcher has exited: its status, or 128 + signal. */
        int waitFor() throws IOException;

        /** The launcher's status if known, else null; never blocks. */
        Integer exitedCode();

        /** Kills the launcher (not the container it made). */
        void kill();
    }

    /**
     * A session with a launcher started by another process (a monitor) that holds the other end of
     * {@code socket} as the launcher's sync descriptor: sends the plan and returns the session, which
     * owns {@code socket} from now on.
     */
    public static Session over(Plan plan, Fd socket, Parent parent) {
        OutputStream out = FdStreams.output(socket::num);
        InputStream in = FdStreams.input(socket::num);
        Session s = new Session(null, 0, in, out, socket, parent);
        try {
            out.write(plan.encode());
        } catch (IOException e) {
            // the launcher died early: its error, if any, is on the socket
        }
        return s;
    }

    /** Starts the launcher, sends the plan and returns the session; {@code dir} holds the rendezvous. */
    public static Session launch(Plan plan, Stdio stdio, Path dir) throws IOException {
        return stdio.needsFfm() ? launchWithFfm(plan, stdio) : launchWithJdk(plan, dir);
    }

    /**
     * The JDK way: ProcessBuilder with the runtime's stdio inherited, and two FIFOs that the
     * launcher makes in a fresh private directory ({@code in}: plan and replies; {@code out}:
     * messages). FIFOs, because plain file streams are all the JDK needs for them; a Unix
     * socket would load the JDK's whole networking stack, several times the cost of a launch.
     */
    private static Session launchWithJdk(Plan plan, Path dir) throws IOException {
        Path rendezvous = dir.resolve(".launch-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        java.nio.file.Files.createDirectory(rendezvous,
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        Process process = null;
        try {
            ProcessBuilder pb = new ProcessBuilder(binary().toString(), "fifo", rendezvous.toString()).inheritIO();
            pb.environment().clear();
            process = pb.start();
            Path in = rendezvous.resolve("in");
            Path out = rendezvous.resolve("out");
            while (!java.nio.file.Files.exists(out)) {
                if (!process.isAlive()) {
                    throw new IOException("the launcher " + binary() + " exited with status " + process.exitValue()
                            + " before it was ready");
                }
                Thread.onSpinWait();
            }
            // Opening one end of a FIFO waits for the other; should the launcher die meanwhile,
            // a watcher opens the other ends so that these opens return (and then read EOF).
            java.util.concurrent.atomic.AtomicBoolean opened = new java.util.concurrent.atomic.AtomicBoolean();
            Process launcher = process;
            Thread watcher = Thread.ofPlatform().daemon().stackSize(256 * 1024).start(() -> {
                while (!opened.get()) {
                    if (!launcher.isAlive()) {
                        unblock(in, false);
                        unblock(out, true);
                        return;
                    }
                    sleepMicros(1000);
                }
            });
            OutputStream toLauncher;
            InputStream fromLauncher;
            try {
                toLauncher = new java.io.FileOutputStream(in.toFile());
                fromLauncher = new java.io.BufferedInputStream(new java.io.FileInputStream(out.toFile()), 512);
            } finally {
                opened.set(true);
                watcher.interrupt();
            }
            Session s = new Session(process, 0, fromLauncher, toLauncher, () -> {
                closeQuietly(toLauncher);
                closeQuietly(fromLauncher);
            });
            try {
                toLauncher.write(plan.encode());
                toLauncher.flush();
            } catch (IOException e) {
                // The launcher died early; its error message, if any, is in "out".
            }
            return s;
        } catch (IOException | RuntimeException e) {
            if (process != null) {
                process.destroyForcibly();
            }
            throw e;
        } finally {
            java.nio.file.Files.deleteIfExists(rendezvous.resolve("in"));
            java.nio.file.Files.deleteIfExists(rendezvous.resolve("out"));
            java.nio.file.Files.deleteIfExists(rendezvous);
        }
    }

    private static void unblock(Path fifo, boolean write) {
        try (java.io.Closeable c = write ? new java.io.FileOutputStream(fifo.toFile())
                : new java.io.FileInputStream(fifo.toFile())) {
            // opening was the point
        } catch (IOException ignored) {
            // not there: nothing waits on it
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing a FIFO end cannot lose data we care about
        }
    }

    private static Session launchWithFfm(Plan plan, Stdio stdio) throws IOException {
        Fd[] pair = Sockets.socketpair(Sockets.SOCK_STREAM);
        int[] fds = new int[3 + stdio.preserved() + 1];
        fds[0] = stdio.stdin();
        fds[1] = stdio.stdout();
        fds[2] = stdio.stderr();
        for (int i = 0; i < stdio.preserved(); i++) {
            fds[3 + i] = 3 + i;
        }
        int syncSlot = fds.length - 1;
        fds[syncSlot] = pair[1].num();
        int pid;
        try {
            pid = Processes.spawn(binary().toString(), List.of("vessel-launch", "fd", Integer.toString(syncSlot)),
                    List.of(), fds);
        } catch (ErrnoException e) {
            pair[0].close();
            throw e;
        } finally {
            pair[1].close();
        }
        Fd sock = pair[0];
        OutputStream out = FdStreams.output(sock::num);
        InputStream in = FdStreams.input(sock::num);
        Session s = new Session(null, pid, in, out, sock);
        try {
            out.write(plan.encode());
        } catch (IOException e) {
            // as above: the launcher's error is on the socket
        }
        return s;
    }

    static void sleepMicros(long us) {
        try {
            Thread.sleep(java.time.Duration.ofNanos(us * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
