package io.vessel.cli.client;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts {@code vessel daemon} when nothing answers on its socket, as issue 4 asks of the CLI:
 * detached (a session of its own, stdio to {@code <run>/daemon.log}), with the CLI's root, run
 * directory and socket; then waits for {@code /_ping}. CLIs starting at once take turns on
 * {@code <run>/daemon-start.lock}, so the second finds the first one's daemon answering and one
 * daemon results (the daemon's own lock on its root would refuse a second anyway).
 */
public final class DaemonStarter {
    /** How long a daemon may take to answer its first ping: a cold JVM opening the engine takes about a second. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final long POLL_MILLIS = 20;
    private static final String LOG = "daemon.log";
    private static final String START_LOCK = "daemon-start.lock";
    /** Lines of the daemon's log quoted when it fails to start. */
    private static final int LOG_TAIL_LINES = 15;

    private DaemonStarter() {
    }

    /**
     * The daemon's client, starting the daemon first if needed.
     *
     * @param launch the command that runs {@code vessel} (the script, or java and its class path),
     *               to which {@code --root R daemon [-H unix://S]} is appended
     */
    public static DockerClient connect(Endpoint endpoint, List<String> launch) throws IOException {
        try {
            return DockerClient.connect(endpoint.socket());
        } catch (DaemonUnavailable notYet) {
            // start it below
        }
        Files.createDirectories(endpoint.runDir());
        Path lockFile = endpoint.runDir().resolve(START_LOCK);
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            try {
                return DockerClient.connect(endpoint.socket()); // another CLI started it meanwhile
            } catch (DaemonUnavailable stillNot) {
                return start(endpoint, launch);
            }
        }
    }

    private static DockerClient start(Endpoint endpoint, List<String> launch) throws IOException {
        Path log = endpoint.runDir().resolve(LOG);
        List<String> cmd = new ArrayList<>();
        cmd.add("setsid");
        cmd.addAll(launch);
        cmd.addAll(List.of("--root", endpoint.root().toString(), "daemon"));
        if (endpoint.explicitSocket()) {
            cmd.addAll(List.of("--host", "unix://" + endpoint.socket()));
        }
        long logStart = Files.exists(log) ? Files.size(log) : 0;
        // from "/": a daemon must not keep the first CLI's working directory busy (or mounted)
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(new File("/")).redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).redirectErrorStream(true);
        pb.environment().put("VESSEL_ROOT", endpoint.root().toString());
        pb.environment().put("VESSEL_RUN", endpoint.runDir().toString());
        Process p = pb.start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        DaemonUnavailable last = null;
        while (System.nanoTime() < deadline) {
            try {
                return DockerClient.connect(endpoint.socket());
            } catch (DaemonUnavailable e) {
                last = e;
            }
            if (!p.isAlive()) {
                // one more try: a daemon that another CLI started may own the root and the socket
                try {
                    return DockerClient.connect(endpoint.socket());
                } catch (DaemonUnavailable e) {
                    throw new IOException("the Vessel daemon did not start (exit status " + p.exitValue() + "): "
                            + tail(log, logStart) + "\n(its log: " + log + ")", e);
                }
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the Vessel daemon to start");
            }
        }
        throw new IOException("the Vessel daemon (pid " + p.pid() + ") started but did not answer on unix://"
                + endpoint.socket() + " within " + START_TIMEOUT.toSeconds() + " s; see its log " + log, last);
    }

    /** The last lines the daemon wrote to its log since {@code from}. */
    private static String tail(Path log, long from) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            long start = Math.max(from, len - 8192);
            byte[] b = new byte[(int) (len - start)];
            f.seek(start);
            f.readFully(b);
            List<String> lines = new String(b, StandardCharsets.UTF_8).lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size())).strip();
        } catch (IOException e) {
            return "(its log cannot be read: " + e.getMessage() + ")";
        }
    }
}
