package io.vessel.cli;

import io.vessel.cli.VesselCliFixture.Result;
import io.vessel.json.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI as a client of the daemon it starts: one daemon for concurrent first commands, stopped by
 * {@code daemon --stop} and started again by the next command; {@code -H} and {@code VESSEL_HOST};
 * a clear error when the daemon cannot start; {@code build} sending a context filtered by
 * {@code .dockerignore}; {@code --format json}. Each test has a root (and so a daemon) of its own.
 */
class DaemonOnDemandTest {
    private Path state;
    private final Map<String, String> env = new HashMap<>();

    @BeforeEach
    void setUp() throws IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root (the daemon's containers); running as " + System.getProperty("user.name"));
        state = Files.createTempDirectory("vessel-ondemand");
        env.put("VESSEL_ROOT", state.resolve("lib").toString());
        env.put("DOCKER_CONFIG", state.resolve("docker").toString());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (state == null) {
            return;
        }
        try {
            vessel("daemon", "--stop");
            Optional<ProcessHandle> left = daemonProcess();
            left.ifPresent(ProcessHandle::destroyForcibly);
            assertTrue(left.isEmpty(), "the daemon stopped");
            // the default bridge and nftables table that containers made for this root
            io.vessel.engine.network.Networks.open(io.vessel.engine.network.NetworksConfig.fromEnvironment(
                    state.resolve("lib"), state.resolve("lib/run"), true)).dismantle();
        } finally {
            try (Stream<Path> s = Files.walk(state)) {
                for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(q);
                }
            }
        }
    }

    Result vessel(String... args) throws Exception {
        return vesselWithInput(null, args);
    }

    Result vesselWithInput(String input, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(VesselCommandTest.repo().resolve("vessel").toString());
        cmd.addAll(List.of(args));
        return exec(cmd, input);
    }

    Result exec(List<String> cmd, String input) throws Exception {
        Path in = input == null ? null : Files.writeString(state.resolve("stdin"), input);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("VESSEL_RUN");
        pb.environment().remove("VESSEL_HOST");
        pb.environment().putAll(env);
        return VesselCliFixture.capture(pb, in);
    }

    /** The daemon serving this test's root, by the pid in its lock file, if alive. */
    private Optional<ProcessHandle> daemonProcess() throws IOException {
        Path lock = state.resolve("lib/daemon.lock");
        if (!Files.exists(lock)) {
            return Optional.empty();
        }
        String pid = Files.readString(lock).trim();
        return pid.isEmpty() ? Optional.empty() : ProcessHandle.of(Long.parseLong(pid)).filter(ProcessHandle::isAlive);
    }

    /** Live processes running {@code vessel ... daemon} for this test's root. */
    private long daemonsForRoot() throws IOException {
        String root = state.resolve("lib").toString();
        long n = 0;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).toList()) {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                    if (cmdline.contains("io.vessel.cli.Main --root " + root + " daemon")) {
                        n++;
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        }
        return n;
    }

    @Test
    void concurrentCommandsShareOneDaemonThatStopsAndStartsAgain() throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<Result> results = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 3; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    results.add(vessel("version", "--format", "json"));
                } catch (Exception e) {
                    results.add(new Result(-1, "", e.toString()));
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        for (Result r : results) {
            r.ok();
            Map<?, ?> v = (Map<?, ?>) Json.parse(r.out().strip());
            Map<?, ?> server = (Map<?, ?>) v.get("Server");
            assertEquals("28.2.0", server.get("Version"), r.out());
            assertTrue(((List<?>) server.get("Components")).contains(Map.of("Name", "Vessel", "Version", "0.1.0",
                    "Details", Map.of("GitCommit", ""))), r.out());
        }
        assertEquals(1, daemonsForRoot(), "one daemon for the root");
        long first = daemonProcess().orElseThrow().pid();
        Path socket = state.resolve("lib/run/docker.sock");
        assertTrue(Files.exists(socket), "the root's own socket, under <root>/run");
        assertTrue(Files.readString(state.resolve("lib/run/daemon.log")).contains("listening on"));

        vessel("daemon", "--stop").ok();
        assertTrue(daemonProcess().isEmpty(), "--stop waits for the daemon to end");
        assertFalse(Files.exists(socket), "the stopped daemon removed its socket");

        assertTrue(vessel("info").ok().out().contains("Docker Root Dir: " + state.resolve("lib")));
        assertNotEquals(first, daemonProcess().orElseThrow().pid(), "the next command started a new daemon");
        assertEquals(1, daemonsForRoot());
    }

    @Test
    void hostFlagAndVesselHostChooseTheSocket() throws Exception {
        Path sock = state.resolve("elsewhere.sock");
        String host = "unix://" + sock;
        vessel("-H", host, "volume", "create", "v1").ok();
        assertTrue(Files.exists(sock));
        assertFalse(Files.exists(state.resolve("lib/run/docker.sock")), "only the socket asked for is served");
        env.put("VESSEL_HOST", host);
        assertEquals("v1\n", vessel("volume", "ls", "-q").ok().out());
        env.remove("VESSEL_HOST");
        Result bad = vessel("-H", "tcp://127.0.0.1:2375", "version");
        assertEquals(125, bad.exit());
        assertTrue(bad.err().contains("only unix:///absolute/path sockets"), bad.err());
    }

    @Test
    void aDaemonThatCannotStartIsReportedWithItsLog() throws Exception {
        Path notADir = Files.writeString(state.resolve("file"), "x");
        env.put("VESSEL_ROOT", notADir.toString());
        env.put("VESSEL_RUN", state.resolve("run").toString());
        Result r = vessel("images");
        assertEquals(125, r.exit(), r.err());
        assertTrue(r.err().contains("the Vessel daemon did not start") && r.err().contains(state.resolve("run/daemon.log").toString()),
                r.err());
        env.put("VESSEL_ROOT", state.resolve("lib").toString());
    }

    @Test
    void buildSendsTheContextWithoutIgnoredFiles() throws Exception {
        Path ctx = Files.createDirectories(state.resolve("ctx"));
        Files.createDirectories(ctx.resolve("logs"));
        Files.writeString(ctx.resolve("kept"), "k\n");
        Files.writeString(ctx.resolve("secret"), "s\n");
        Files.writeString(ctx.resolve("logs/a.log"), "a\n");
        Files.writeString(ctx.resolve("logs/keep.log"), "b\n");
        Files.writeString(ctx.resolve(".dockerignore"), "secret\nlogs\n!logs/keep.log\n");
        Files.writeString(ctx.resolve("Dockerfile"), """
                FROM busybox
                COPY . /ctx
                CMD ["find", "/ctx", "-type", "f"]
                """);
        Path outside = Files.writeString(state.resolve("Other.dockerfile"), """
                FROM busybox
                COPY kept /only
                CMD ["cat", "/only"]
                """);
        Result built = vessel("build", "-t", "ctx:1", ctx.toString()).ok();
        assertTrue(built.out().contains("Step 2/3 : COPY . /ctx"), built.out());
        List<String> files = vessel("run", "--rm", "ctx:1").ok().out().lines().sorted().toList();
        assertEquals(List.of("/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/kept", "/ctx/logs/keep.log"), files);

        Result quiet = vessel("build", "-q", "-f", outside.toString(), "-t", "ctx:2", ctx.toString()).ok();
        assertTrue(quiet.out().strip().matches("sha256:[0-9a-f]{64}"), quiet.out());
        assertEquals("k\n", vessel("run", "--rm", "ctx:2").ok().out());

        for (String line : vessel("images", "--format", "json").ok().out().lines().toList()) {
            Map<?, ?> m = (Map<?, ?>) Json.parse(line);
            assertTrue(List.of("ctx", "busybox").contains(m.get("Repository")), line);
        }
        Result missing = vessel("build", state.resolve("nope").toString());
        assertEquals(125, missing.exit());
        assertTrue(missing.err().contains("is not a directory"), missing.err());
    }

    @Test
    void containerVerbsThroughTheDaemon() throws Exception {
        String id = vessel("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                "trap 'exit 0' TERM; echo started; echo oops >&2; while true; do sleep 0.1; done").ok().out().strip();
        assertTrue(id.matches("[0-9a-f]{64}"), id);
        Map<?, ?> row = (Map<?, ?>) Json.parse(vessel("ps", "--format", "json").ok().out().strip());
        assertEquals("ticker", row.get("Names"));
        assertEquals("running", row.get("State"));
        Result exec = vessel("exec", "-e", "X=from-exec", "ticker", "sh", "-c", "echo $X; exit 4");
        assertEquals(4, exec.exit(), exec.err());
        assertEquals("from-exec\n", exec.out());
        Result logs = vessel("logs", "ticker");
        assertEquals("started\n", logs.ok().out());
        assertEquals("oops\n", logs.err(), "stderr frames go to stderr");
        vessel("stop", "ticker").ok();
        assertEquals("0\n", vessel("wait", "ticker").ok().out());
        Map<?, ?> state = (Map<?, ?>) ((Map<?, ?>) Json.parse(vessel("inspect", "--format", "json", "ticker").ok().out().strip()))
                .get("State");
        assertEquals("exited", state.get("Status"));
        vessel("rm", "ticker").ok();
        Result gone = vessel("rm", "ticker");
        assertEquals(1, gone.exit());
        assertTrue(gone.err().contains("Error response from daemon"), gone.err());

        // -i: stdin to the container, its end the container's end of file; --rm leaves nothing
        assertEquals("3\n", vesselWithInput("a\nb\nc\n", "run", "--rm", "-i", "busybox", "wc", "-l").ok().out());
        assertEquals("", vessel("ps", "-aq").ok().out());

        // -t through a pseudo-terminal (script(1)): the container's terminal gets this one's size (the resize
        // follows the start, hence the sleep; the daemon does not read ConsoleSize at create)
        Result tty = exec(List.of("script", "-qec", "stty rows 33 cols 101; " + VesselCommandTest.repo().resolve("vessel")
                + " run --rm -t busybox sh -c 'sleep 1; tty; stty size; exit 6'", "/dev/null"), null);
        assertEquals(6, tty.exit(), tty.out() + tty.err());
        assertTrue(tty.out().contains("/dev/pts/") && tty.out().contains("33 101"), tty.out());
    }
}
