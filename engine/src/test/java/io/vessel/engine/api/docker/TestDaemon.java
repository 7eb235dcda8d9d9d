package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.EngineConfig;
import io.vessel.engine.api.Daemon;
import io.vessel.engine.network.NetworksConfig;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;
import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The fixture of the docker CLI tests: a daemon in this JVM on a temporary socket over a temporary
 * root (with Vessel's built-in busybox), and the real docker CLI pointed at it. {@link #close}
 * removes the containers, stops the daemon, deletes the root's bridge and nftables table, and
 * unmounts and removes everything under the temporary directory.
 */
final class TestDaemon implements AutoCloseable {
    static final Path DOCKER = Path.of("/usr/local/bin/docker");
    private static final long TIMEOUT_SECONDS = 240;

    /** What a command did: its exit status and output. */
    record Result(int exit, String out, String err) {
        Result ok() {
            assertEquals(0, exit, "exit status; stderr: " + err + "; stdout: " + out);
            return this;
        }

        Result failed() {
            assertNotEquals(0, exit, "should have failed; stdout: " + out);
            return this;
        }
    }

    final Path dir;
    final Engine engine;
    final Path socket;
    private Daemon daemon;

    private TestDaemon(Path dir, Engine engine, Path socket, Daemon daemon) {
        this.dir = dir;
        this.engine = engine;
        this.socket = socket;
        this.daemon = daemon;
    }

    /**
     * Starts a daemon in a new temporary directory named with {@code prefix}; {@code networks} makes the
     * networks' configuration from that directory (null: the root's own bridge and table). Skips the test class (saying why) without root, the docker CLI or, when
     * {@code containers}, the native launcher and monitor.
     */
    static TestDaemon start(String prefix, java.util.function.Function<Path, NetworksConfig> networks, boolean containers)
            throws IOException {
        return start(prefix, networks, containers, null);
    }

    /**
     * As {@link #start(String, java.util.function.Function, boolean)}, serving on {@code socket} (null:
     * {@code run/docker.sock} in the temporary directory), for a client that is told its socket before
     * the test runs, such as Testcontainers through the environment. With {@code -Dvessel.test.debug=true}
     * the daemon logs every request to stderr (the test's output file under surefire).
     */
    static TestDaemon start(String prefix, java.util.function.Function<Path, NetworksConfig> networks, boolean containers,
                            Path socket) throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(DOCKER), "no docker CLI at " + DOCKER);
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "the daemon unpacks layers with their owners and runs containers, which needs root");
        if (containers) {
            String launcher = System.getProperty("vessel.launcher");
            Assumptions.assumeTrue(launcher != null && Files.isExecutable(Path.of(launcher))
                            && Files.isExecutable(Path.of(launcher).resolveSibling("vessel-monitor")),
                    "no vessel-launch/vessel-monitor: run 'make build' and pass -Dvessel.launcher (see the Makefile)");
        }
        Path dir = Files.createTempDirectory(prefix);
        Files.createDirectories(dir.resolve("docker-config"));
        EngineConfig config = new EngineConfig(dir.resolve("root"), dir.resolve("run"), dir.resolve("creds.json"), List.of());
        Engine engine = networks == null ? Engine.open(config) : Engine.open(config, networks.apply(dir));
        Path listen = socket != null ? socket : dir.resolve("run/docker.sock");
        TestDaemon d = new TestDaemon(dir, engine, listen,
                Daemon.start(engine, List.of(listen), Boolean.getBoolean("vessel.test.debug"), System.err));
        engine.images().find("busybox", false, null); // Vessel's built-in image, made from /bin/busybox
        return d;
    }

    /** {@code docker ARGS}, with no input. */
    Result docker(String... args) throws IOException, InterruptedException {
        return run(null, null, docker(List.of(args)));
    }

    /** {@code DOCKER} followed by {@code args}. */
    static List<String> docker(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(DOCKER.toString());
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs {@code cmd} in {@code cwd} (null: this one) with the docker CLI's environment pointed at this daemon.
     * {@code input} (null: none) is written to its stdin, which is then closed unless the command is
     * {@code script} (a terminal's input stays open until the process ends).
     */
    Result run(Path cwd, String input, List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "docker", ".out");
        Path err = Files.createTempFile(dir, "docker", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        if (input == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        Map<String, String> env = pb.environment();
        env.put("DOCKER_HOST", "unix://" + socket);
        env.put("DOCKER_CONFIG", dir.resolve("docker-config").toString());
        env.put("DOCKER_BUILDKIT", "0");
        env.put("DOCKER_CLI_HINTS", "false");
        env.put("TERM", "dumb");
        Process p = pb.start();
        if (input != null) {
            OutputStream in = p.getOutputStream();
            in.write(input.getBytes(StandardCharsets.UTF_8));
            in.flush();
            if (!cmd.getFirst().equals("script")) {
                in.close();
            }
        }
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new IOException(String.join(" ", cmd) + " did not finish: " + Files.readString(out) + " / "
                    + Files.readString(err));
        }
        if (input != null) {
            try {
                p.getOutputStream().close();
            } catch (IOException closedAlready) {
                // closed after writing
            }
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    /** Removes every container, stops the daemon and deletes the root's bridge and nftables table; the files stay. */
    void stopDaemon() throws IOException {
        if (daemon == null) {
            return;
        }
        try {
            for (var c : engine.containers().list()) {
                engine.containers().remove(c.id(), true, true);
            }
            daemon.close();
        } finally {
            daemon = null;
            engine.networks().dismantle();
        }
    }

    @Override
    public void close() throws IOException {
        try {
            stopDaemon();
        } finally {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                if (line.contains(dir.toString())) {
                    Mount.umount(line.split(" ")[4], Mount.MNT_DETACH);
                }
            }
            FileTrees.remove(dir);
        }
    }
}
