package io.vessel.runtime.container;

import io.vessel.linux.FdStreams;
import io.vessel.runtime.process.LauncherStarter;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
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
        return new Caller(cwd, env, stdin, stdout, stderr, FdStreams.input(whileLive(stdin, live)),
                new PrintStream(FdStreams.output(whileLive(stdout, live)), true, StandardCharsets.UTF_8),
                new PrintStream(FdStreams.output(whileLive(stderr, live)), true, StandardCharsets.UTF_8), starter, signals);
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

    /** {@code fd} while the request lives; once it has ended its descriptors are the client's no more. */
    private static FdStreams.Source whileLive(int fd, BooleanSupplier live) {
        return () -> {
            if (!live.getAsBoolean()) {
                throw new IOException("the request has ended: its caller's descriptors are closed");
            }
            return fd;
        };
    }
}
