package io.vessel.cli;

import io.vessel.cli.VesselCliFixture.Result;
import io.vessel.engine.Engine;
import io.vessel.engine.EngineConfig;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code vessel daemon} as a real child process, killed with SIGKILL while containers run: the
 * containers keep running under their monitors, and the next daemon finds them, lists them as
 * running, serves their whole logs (including what they wrote while no daemon ran) and stops them.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DaemonCrashTest {
    static final Path DOCKER = Path.of("/usr/local/bin/docker");

    private Path dir;
    private Path socket;
    private Process daemon;

    @BeforeEach
    void setUp() throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(DOCKER), "no docker CLI at " + DOCKER);
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "containers need root (namespaces, cgroups, mounts)");
        String launcher = System.getProperty("vessel.launcher");
        Assumptions.assumeTrue(launcher != null && Files.isExecutable(Path.of(launcher))
                        && Files.isExecutable(Path.of(launcher).resolveSibling("vessel-monitor")),
                "no vessel-launch/vessel-monitor: run 'make build' and pass -Dvessel.launcher");
        dir = Files.createTempDirectory("vessel-crash-");
        Files.createDirectories(dir.resolve("docker-config"));
        socket = dir.resolve("docker.sock");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (dir == null) {
            return;
        }
        try {
            if (daemon != null && daemon.isAlive()) {
                daemon.destroy(); // SIGTERM: a clean stop
                daemon.waitFor(30, TimeUnit.SECONDS);
            }
            // Whatever a failure left running goes, through an engine of this JVM.
            Engine engine = Engine.open(config());
            for (var c : engine.containers().list()) {
                engine.containers().remove(c.id(), true, true);
            }
            engine.networks().dismantle(); // the daemon's bridge and nftables table (named after this root)
        } finally {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                if (line.contains(dir.toString())) {
                    Mount.umount(line.split(" ")[4], Mount.MNT_DETACH);
                }
            }
            FileTrees.remove(dir);
        }
    }

    private EngineConfig config() {
        return new EngineConfig(dir.resolve("root"), dir.resolve("run"), dir.resolve("creds.json"), List.of());
    }

    /** Starts {@code vessel daemon} (this build's classes) and waits until it answers. */
    private Process startDaemon(String logName) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-Dvessel.launcher=" + System.getProperty("vessel.launcher"),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "daemon",
                "--host", "unix://" + socket)
                .redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("VESSEL_ROOT", config().root().toString());
        pb.environment().put("VESSEL_RUN", config().runDir().toString());
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (docker("version", "--format", "{{.Server.Version}}").exit() != 0) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new AssertionError("the daemon did not start: " + Files.readString(dir.resolve(logName)));
            }
            Thread.sleep(200);
        }
        return p;
    }

    Result docker(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(DOCKER.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("DOCKER_HOST", "unix://" + socket);
        pb.environment().put("DOCKER_CONFIG", dir.resolve("docker-config").toString());
        return VesselCliFixture.capture(pb, null);
    }

    private static long ticks(String log) {
        return log.lines().filter(l -> l.equals("tick")).count();
    }

    @Test
    void containersSurviveTheDaemonsSigkill() throws Exception {
        daemon = startDaemon("daemon1.log");
        String quiet = docker("run", "-d", "--name", "quiet", "busybox", "sh", "-c", "echo quiet up; exec sleep 1000")
                .ok().out().trim();
        String ticker = docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                "echo ticker up; while true; do echo tick; sleep 0.2; done").ok().out().trim();
        docker("run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 1; exit 3").ok();
        assertEquals("quiet up\n", docker("logs", "quiet").ok().out());
        int quietPid = Integer.parseInt(docker("inspect", "-f", "{{.State.Pid}}", "quiet").ok().out().trim());

        int phoenixRestarts = Integer.parseInt(docker("inspect", "-f", "{{.RestartCount}}", "phoenix").ok().out().trim());
        daemon.destroyForcibly(); // SIGKILL: no shutdown hook, no clean-up
        assertTrue(daemon.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, daemon.exitValue(), "killed by SIGKILL");
        // the json-file lines written so far: {"log":"tick\n",...}
        long ticksAtKill = Files.readString(config().containersDir().resolve(ticker).resolve(ticker + "-json.log"))
                .lines().filter(l -> l.contains("\"tick\\n\"")).count();
        assertTrue(ticksAtKill > 0, "the ticker had logged before the kill");
        Thread.sleep(1500); // the ticker goes on writing, phoenix exits, while no daemon runs
        assertTrue(ProcessHandle.of(quietPid).map(ProcessHandle::isAlive).orElse(false),
                "the container's process outlived the daemon");

        daemon = startDaemon("daemon2.log");
        String ps = docker("ps", "--format", "{{.Names}} {{.State}}").ok().out();
        assertTrue(ps.contains("quiet running") && ps.contains("ticker running"), ps);
        assertEquals(quietPid, Integer.parseInt(docker("inspect", "-f", "{{.State.Pid}}", "quiet").ok().out().trim()));
        assertEquals("quiet up\n", docker("logs", "quiet").ok().out());
        String tickerLog = docker("logs", "ticker").ok().out();
        assertTrue(tickerLog.startsWith("ticker up\ntick\n"), tickerLog);
        assertTrue(ticks(tickerLog) > ticksAtKill + 2, "the log kept what was written while no daemon ran: "
                + ticks(tickerLog) + " ticks, " + ticksAtKill + " at the kill");

        // the new daemon took up phoenix's restart policy: it exited while no daemon ran and restarts again
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int restarts = phoenixRestarts;
        while (restarts < phoenixRestarts + 2 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            restarts = Integer.parseInt(docker("inspect", "-f", "{{.RestartCount}}", "phoenix").ok().out().trim());
        }
        assertTrue(restarts >= phoenixRestarts + 2, "restarts: " + phoenixRestarts + " before the kill, " + restarts
                + " after");
        docker("rm", "-f", "phoenix").ok();

        docker("stop", "-t", "1", "quiet", "ticker").ok();
        assertEquals("137 137", docker("inspect", "-f", "{{.State.ExitCode}}", "quiet").ok().out().trim() + " "
                + docker("inspect", "-f", "{{.State.ExitCode}}", "ticker").ok().out().trim());
        assertFalse(ProcessHandle.of(quietPid).map(ProcessHandle::isAlive).orElse(false));
        docker("rm", "quiet", "ticker").ok();
        assertEquals("", docker("ps", "-aq").ok().out());

        // nothing left: no monitor socket directories, runtime state, container directories or mounts
        try (Stream<Path> m = Files.list(config().runDir().resolve("m"))) {
            assertEquals(List.of(), m.toList());
        }
        try (Stream<Path> r = Files.list(config().runtimeRoot())) {
            assertEquals(List.of(), r.toList());
        }
        try (Stream<Path> c = Files.list(config().containersDir())) {
            assertEquals(List.of(), c.toList());
        }
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(dir.toString()), "no mount is left");
        assertTrue(quiet.length() == 64 && ticker.length() == 64);
    }
}
