package io.vessel.runtime.process;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import io.vessel.linux.Processes;
import io.vessel.linux.Signals;
import io.vessel.linux.Sockets;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Starts the native launcher ({@code vessel-launch}) with a plan and talks to it: the plan goes
 * first on a Unix stream socket, then the launcher sends one line per event ("pid N", "hooks",
 * "ready", "error ...") and the runtime answers the "hooks" request with "ok STATE".
 *
 * <p>The usual way is plain JDK code: ProcessBuilder with the runtime's stdio inherited, and a
 * listening socket the launcher connects to. Linking foreign functions costs more than a
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
        private Integer exitCode;

        Session(Process process, int pid, InputStream in, OutputStream out, AutoCloseable channel) {
            this.process = process;
            this.pid = pid;
            this.in = in;
            this.out = out;
            this.channel = channel;
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
                if (process != null) {
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
            if (process != null) {
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

    /** Starts the launcher, sends the plan and returns the session. {@code socketDir} holds the rendezvous socket. */
    public static Session launch(Plan plan, Stdio stdio, Path socketDir) throws IOException {
        return stdio.needsFfm() ? launchWithFfm(plan, stdio) : launchWithJdk(plan, socketDir);
    }

    private static Session launchWithJdk(Plan plan, Path socketDir) throws IOException {
        Path sock = socketDir.resolve(".launch-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".sock");
        if (sock.toString().length() > 100) {
            sock = Path.of(System.getProperty("java.io.tmpdir"), "vessel-launch-" + ProcessHandle.current().pid()
                    + "-" + System.nanoTime() + ".sock");
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Process process = null;
        try (server) {
            server.bind(UnixDomainSocketAddress.of(sock));
            ProcessBuilder pb = new ProcessBuilder(binary().toString(), "connect", sock.toString()).inheritIO();
            pb.environment().clear();
            process = pb.start();
            server.configureBlocking(false);
            SocketChannel ch;
            while ((ch = server.accept()) == null) {
                if (!process.isAlive()) {
                    throw new IOException("the launcher " + binary() + " exited with status " + process.exitValue()
                            + " before connecting");
                }
                Thread.onSpinWait();
                sleepMicros(20);
            }
            ch.configureBlocking(true);
            OutputStream out = Channels.newOutputStream(ch);
            Session s = new Session(process, 0, Channels.newInputStream(ch), out, ch);
            try {
                out.write(plan.encode());
                out.flush();
            } catch (IOException e) {
                // The launcher died early; its error message, if any, is on the socket.
            }
            return s;
        } catch (IOException | RuntimeException e) {
            if (process != null) {
                process.destroyForcibly();
            }
            throw e;
        } finally {
            java.nio.file.Files.deleteIfExists(sock);
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
        OutputStream out = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[]{(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Files.write(sock.num(), java.util.Arrays.copyOfRange(b, off, off + len));
            }
        };
        InputStream in = new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return Files.read(sock.num(), one) == 1 ? one[0] & 0xff : -1;
            }
        };
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
