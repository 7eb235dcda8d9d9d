package io.vessel.cli;

import io.vessel.engine.Engine;
import io.vessel.engine.api.Daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code vessel daemon}: serves the engine in the foreground until SIGTERM or SIGINT (systemd's
 * stop, or Ctrl-C), on {@code --host unix:///path} sockets or the defaults under the run directory.
 */
final class DaemonCommand {
    private static final String UNIX_SCHEME = "unix://";

    private DaemonCommand() {
    }

    static int run(Main main, List<String> args) throws UsageError, IOException {
        Flags f = new Flags("daemon", false)
                .list("host", 'H', "socket to listen on, unix:///path (repeatable; default <run>/docker.sock and <run>/vessel.sock)")
                .value("root", (char) 0, "the root of persistent state (default /var/lib/vessel)")
                .bool("debug", 'D', "log every request")
                .bool("help", (char) 0, "print usage")
                .parse(args);
        if (f.bool("help")) {
            main.out().println("Usage:  vessel daemon [OPTIONS]\n");
            main.out().print(f.help());
            return 0;
        }
        f.atMost(0);
        if (f.value("root") != null) {
            main.root(Path.of(f.value("root")));
        }
        List<Path> sockets = new ArrayList<>();
        for (String h : f.list("host")) {
            if (!h.startsWith(UNIX_SCHEME) || h.length() == UNIX_SCHEME.length()) {
                throw new UsageError("--host " + h + ": only unix:///absolute/path sockets are served");
            }
            Path p = Path.of(h.substring(UNIX_SCHEME.length()));
            if (!p.isAbsolute()) {
                throw new UsageError("--host " + h + ": the socket path must be absolute");
            }
            sockets.add(p);
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
}
