package io.vessel.runtime.container;

import io.vessel.linux.Files;
import io.vessel.runtime.process.LauncherStarter;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * Who invoked a runtime command: its working directory, environment and stdio, how launchers are
 * started for it, and where the signals it receives come from. A command run as its own process
 * is {@link #process()}; the runtime service runs many commands at once in one JVM, each for a
 * client process whose descriptors it received, so nothing a command does may assume that the
 * JVM's own cwd, System.out or signal handlers belong to its caller.
 *
 * @param stdin   descriptor of the caller's stdin in this process (0 for the process itself)
 * @param stdout  descriptor of the caller's stdout
 * @param stderr  descriptor of the caller's stderr
 * @param starter starts launchers as the caller's children; null: as children of this process
 */
public record Caller(Path cwd, Map<String, String> env, int stdin, int stdout, int stderr, InputStream in,
                     PrintStream out, PrintStream err, LauncherStarter starter, SignalSource signals) {

    /** Where the signals meant for a foreground container come from while the runtime waits for it. */
    @FunctionalInterface
    public interface SignalSource {
        /** Sends each signal the caller gets to {@code target} until the returned action runs. */
        Runnable forward(IntConsumer target);
    }

    public Caller {
        if (!cwd.isAbsolute()) {
            throw new IllegalArgumentException("the caller's working directory must be absolute, not " + cwd);
        }
    }

    /** This process itself: its cwd, environment, stdio, signal handlers, and launchers as its children. */
    public static Caller process() {
        return Own.INSTANCE;
    }

    /** Made on first use: a command that never asks pays nothing for it. */
    private static final class Own {
        static final Caller INSTANCE = new Caller(Path.of("").toAbsolutePath(), System.getenv(), 0, 1, 2,
                new FileInputStream(FileDescriptor.in),
                new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8),
                System.err, null, ForwardSignals::install);
    }

    /**
     * A caller whose stdio are descriptors this process holds for it (the service's clients):
     * streams over those descriptors, written straight through.
     */
    public static Caller of(Path cwd, Map<String, String> env, int stdin, int stdout, int stderr,
                            LauncherStarter starter, SignalSource signals, BooleanSupplier live) {
        return new Caller(cwd, env, stdin, stdout, stderr, new FdInput(stdin, live),
                new PrintStream(new FdOutput(stdout, live), true, StandardCharsets.UTF_8),
                new PrintStream(new FdOutput(stderr, live), true, StandardCharsets.UTF_8), starter, signals);
    }

    /** The same caller with another launcher starter. */
    public Caller withStarter(LauncherStarter s) {
        return new Caller(cwd, env, stdin, stdout, stderr, in, out, err, s, signals);
    }

    /** {@code path} as the caller means it: relative paths are relative to its working directory. */
    public Path resolve(String path) {
        return cwd.resolve(path).normalize();
    }

    /** True when the caller's stdio are this process's own descriptors 0, 1 and 2. */
    public boolean ownsProcessStdio() {
        return stdin == 0 && stdout == 1 && stderr == 2;
    }

    private static void checkLive(BooleanSupplier live) throws IOException {
        if (!live.getAsBoolean()) {
            throw new IOException("the request has ended: its caller's descriptors are closed");
        }
    }

    private static final class FdOutput extends OutputStream {
        private final int fd;
        private final BooleanSupplier live;

        FdOutput(int fd, BooleanSupplier live) {
            this.fd = fd;
            this.live = live;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            checkLive(live);
            Files.write(fd, java.util.Arrays.copyOfRange(b, off, off + len));
        }
    }

    private static final class FdInput extends InputStream {
        private final int fd;
        private final BooleanSupplier live;

        FdInput(int fd, BooleanSupplier live) {
            this.fd = fd;
            this.live = live;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) == 1 ? one[0] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            checkLive(live);
            byte[] buf = new byte[Math.min(len, 65536)];
            int n = Files.read(fd, buf);
            if (n == 0) {
                return -1;
            }
            System.arraycopy(buf, 0, b, off, n);
            return n;
        }
    }
}
