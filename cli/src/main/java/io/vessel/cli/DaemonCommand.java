package io.vessel.cli;

import io.vessel.cli.client.Endpoint;
import io.vessel.engine.Engine;
import io.vessel.engine.api.Daemon;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code vessel daemon}: serves the engine in the foreground until SIGTERM or SIGINT (systemd's
 * stop, Ctrl-C, or {@code vessel daemon --stop}), on {@code --host unix:///path} sockets or the
 * defaults under the run directory. {@code --stop} ends the daemon serving the root: it reads its
 * pid from the root's {@code daemon.lock}, sends SIGTERM and waits for the lock to be released.
 */
final class DaemonCommand {
    /** What the daemon's lock file is called under its root (io.vessel.engine.api.Daemon's LOCK). */
    private static final String LOCK = "daemon.lock";
    /** How long --stop waits for the daemon to close its sockets and exit before SIGKILL. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);

    private DaemonCommand() {
    }

    static int run(Main main, List<String> args) throws UsageError, IOException {
        Flags f = new Flags("daemon", false)
                .list("host", 'H', "socket to listen on, unix:///path (repeatable; default <run>/docker.sock and <run>/vessel.sock)")
                .value("root", (char) 0, "the root of persistent state (default /var/lib/vessel)")
                .bool("debug", 'D', "log every request")
                .bool("stop", (char) 0, "stop the daemon serving the root, and wait until it has")
                .parse(args);
        if (main.help(f, "daemon [OPTIONS]")) {
            return 0;
        }
        f.atMost(0);
        if (f.value("root") != null) {
            main.root(Path.of(f.value("root")));
        }
        if (f.bool("stop")) {
            return stop(main);
        }
        List<Path> sockets = new ArrayList<>();
        for (String h : f.list("host")) {
            try {
                sockets.add(Endpoint.parseHost(h));
            } catch (IllegalArgumentException e) {
                throw new UsageError("--host: " + e.getMessage());
            }
        }
        if (sockets.isEmpty() && main.endpoint().explicitSocket()) {
            sockets.add(main.endpoint().socket());
        }
        Engine engine = main.engine();
        Daemon daemon = Daemon.start(engine, sockets.isEmpty() ? Daemon.defaultSockets(engine) : sockets,
                f.bool("debug"), System.err);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                daemon.close();
            } catch (IOException e) {
                System.err.println("vessel daemon: stopping: " + e.getMessage());
            }
        }, "vessel-daemon-stop"));
        System.err.println("vessel daemon " + Main.VERSION + ": root " + engine.config().root() + ", listening on "
                + daemon.sockets());
        try {
            daemon.awaitTermination();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static int stop(Main main) throws IOException {
        Path lockFile = main.config().root().resolve(LOCK);
        if (!Files.exists(lockFile)) {
            main.err().println("no Vessel daemon is serving " + main.config().root());
            return 0;
        }
        Optional<ProcessHandle> daemon = Optional.empty();
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock free;
            try {
                free = ch.tryLock();
            } catch (OverlappingFileLockException thisJvm) {
                throw new IOException("the daemon serving " + main.config().root() + " runs in this process");
            }
            if (free != null) {
                free.release();
                main.err().println("no Vessel daemon is serving " + main.config().root());
                return 0;
            }
            String pid = Files.readString(lockFile).trim();
            try {
                daemon = ProcessHandle.of(Long.parseLong(pid));
            } catch (NumberFormatException e) {
                throw new IOException(lockFile + " is locked but holds no pid (\"" + pid + "\"): stop the daemon by hand");
            }
        }
        if (daemon.isEmpty()) {
            return 0;
        }
        ProcessHandle p = daemon.get();
        p.destroy(); // SIGTERM: the daemon's shutdown hook closes its sockets and releases the root
        try {
            p.onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            p.destroyForcibly();
            main.err().println("the Vessel daemon (pid " + p.pid() + ") did not stop within " + STOP_TIMEOUT.toSeconds()
                    + " s: killed");
        } catch (InterruptedException | ExecutionException e) {
            throw new IOException("waiting for the Vessel daemon (pid " + p.pid() + ") to stop: " + e.getMessage(), e);
        }
        return 0;
    }
}
