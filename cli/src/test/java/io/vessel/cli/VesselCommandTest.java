package io.vessel.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's commands, end to end: {@code ./vessel} as a user runs it (the script, the JVM, the
 * runtime, real containers), each test class with a state directory of its own and so a daemon of
 * its own, which the first command starts and the last stops.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VesselCommandTest {
    record Result(int exit, String out, String err) {
        Result ok() {
            assertEquals(0, exit, "exit status; stderr: " + err + "; stdout: " + out);
            return this;
        }
    }

    private Path state;

    @BeforeAll
    void setUp() throws IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root (namespaces, cgroups, overlay mounts); running as " + System.getProperty("user.name"));
        state = Files.createTempDirectory("vessel-cli-test");
    }

    @AfterAll
    void tearDown() throws Exception {
        if (state == null) {
            return;
        }
        try {
            for (String id : vessel("ps", "-aq", "--no-trunc").out().lines().filter(s -> !s.isBlank()).toList()) {
                vessel("rm", "-f", "-v", id);
            }
        } finally {
            vessel("daemon", "--stop"); // the daemon the first command started
        }
        // the default bridge and nftables table that containers made for this state directory's root
        io.vessel.engine.network.Networks.open(io.vessel.engine.network.NetworksConfig.fromEnvironment(
                state.resolve("lib"), state.resolve("run"), true)).dismantle();
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(state.toString()), "no mount is left");
        delete(state);
    }

    static Path repo() {
        String p = System.getProperty("vessel.root");
        Path dir = p != null ? Path.of(p) : Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("scripts/make-rootfs.sh"))) {
            dir = dir.getParent();
        }
        return dir;
    }

    Result vessel(String... args) throws Exception {
        return vesselWithInput(null, args);
    }

    Result vesselWithInput(Path input, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(repo().resolve("vessel").toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("vessel", ".out");
        Path err = Files.createTempFile("vessel", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(input == null ? new File("/dev/null") : input.toFile()));
            pb.environment().put("VESSEL_ROOT", state.resolve("lib").toString());
            pb.environment().put("VESSEL_RUN", state.resolve("run").toString());
            pb.environment().put("DOCKER_CONFIG", state.resolve("docker").toString());
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("vessel " + String.join(" ", args) + " did not finish");
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Test
    void runsBusyboxWithItsOwnLayerAndLimits() throws Exception {
        String name = "readme-" + ProcessHandle.current().pid();
        Result r = vessel("run", "--rm", "--name", name, "-m", "48m", "-e", "GREETING=hi", "busybox", "sh", "-c",
                "echo $GREETING from $(hostname); echo data > /etc/written; "
                        + "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exit 7");
        assertEquals(7, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("hi from "), r.out());
        assertEquals(Long.toString(48L << 20), lines.get(1));
        // the write went to the container's layer, gone with it (--rm); the image's layers are untouched
        try (Stream<Path> s = Files.walk(state.resolve("lib/layers"))) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().equals("written")));
        }
        assertFalse(vessel("ps", "-a").ok().out().contains(name));
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(state.toString()), "no mount is left");

        Result bad = vessel("run", "--rm", "127.0.0.1:1/alpine", "true");
        assertEquals(125, bad.exit());
        assertTrue(bad.err().contains("127.0.0.1:1/alpine") && bad.err().contains("cannot reach"), bad.err());
        Result usage = vessel("run", "--bogus", "busybox");
        assertEquals(125, usage.exit());
        assertTrue(usage.err().contains("unknown flag: --bogus"), usage.err());
    }

    @Test
    void namedVolumeOutlivesItsContainer() throws Exception {
        vessel("run", "--name", "writer", "-v", "keep:/data", "busybox", "sh", "-c", "echo kept > /data/f").ok();
        assertTrue(vessel("ps", "-a").ok().out().contains("Exited (0)"));
        // docker's Go templates, for a listing, a table and inspect
        assertEquals("writer exited\n", vessel("ps", "-a", "--format", "{{.Names}} {{.State}}").ok().out());
        assertEquals("NAMES    IMAGE\nwriter   busybox\n", vessel("ps", "-a", "--format", "table {{.Names}}\\t{{.Image}}").ok().out());
        assertEquals("exited 0 keep:/data\n", vessel("inspect", "-f",
                "{{.State.Status}} {{.State.ExitCode}} {{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}", "writer").ok().out());
        assertEquals("keep\n", vessel("volume", "ls", "--format", "{{.Name}}").ok().out());
        assertTrue(vessel("ps", "--format", "{{.Names").err().contains("--format: template"));
        vessel("rm", "writer").ok();
        assertEquals("kept\n", vessel("run", "--rm", "-v", "keep:/data:ro", "busybox", "cat", "/data/f").ok().out());
        Result ro = vessel("run", "--rm", "-v", "keep:/data:ro", "busybox", "sh", "-c", "echo x > /data/g");
        assertTrue(ro.exit() != 0 && ro.err().contains("Read-only"), ro.err());
        assertTrue(vessel("volume", "ls", "-q").ok().out().lines().toList().contains("keep"));
        vessel("volume", "rm", "keep").ok();
        assertFalse(vessel("volume", "ls", "-q").ok().out().contains("keep"));
    }

    @Test
    void saveLoadImportTagAndRemove() throws Exception {
        vessel("run", "--rm", "busybox", "true").ok(); // makes the built-in image
        Path tar = state.resolve("busybox.tar");
        vessel("save", "-o", tar.toString(), "busybox").ok();
        vessel("rmi", "busybox").ok();
        assertTrue(vessel("load", "-i", tar.toString()).ok().out().contains("Loaded image: busybox:latest"));
        vessel("tag", "busybox", "example/copy:v1").ok();
        assertTrue(vessel("images").ok().out().contains("example/copy"));

        Path root = Files.createDirectories(state.resolve("importme/etc"));
        Files.writeString(root.resolve("motd"), "imported\n");
        Files.copy(Path.of("/bin/busybox"), state.resolve("importme/busybox"));
        vessel("import", "-c", "CMD [\"/busybox\", \"cat\", \"/etc/motd\"]", state.resolve("importme").toString(),
                "imported:1").ok();
        assertEquals("imported\n", vessel("run", "--rm", "imported:1").ok().out());
        assertTrue(vessel("inspect", "imported:1").ok().out().contains("\"/etc/motd\""));
        Result removed = vessel("rmi", "imported:1", "example/copy:v1").ok();
        assertTrue(removed.out().contains("Untagged: imported:1") && removed.out().contains("Deleted: sha256:"), removed.out());
    }

    @Test
    void pushAndPullThroughALocalRegistry() throws Exception {
        Path regDir = Files.createDirectories(state.resolve("registry"));
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(regDir.resolve("config.yml"), """
                version: 0.1
                log: {level: error}
                storage: {filesystem: {rootdirectory: %s/data}}
                http: {addr: 127.0.0.1:%d}
                """.formatted(regDir, port));
        Process registry = new ProcessBuilder("docker-registry", "serve", regDir.resolve("config.yml").toString())
                .redirectErrorStream(true).redirectOutput(regDir.resolve("log").toFile()).start();
        try {
            for (int i = 0; i < 100; i++) {
                try (Socket ignored = new Socket("127.0.0.1", port)) {
                    break;
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            String ref = "127.0.0.1:" + port + "/tools/busybox:1";
            vessel("run", "--rm", "busybox", "true").ok();
            vessel("tag", "busybox", ref).ok();
            assertTrue(vessel("push", ref).ok().out().contains("1: digest: sha256:"));
            vessel("rmi", ref).ok();
            vessel("rmi", "busybox").ok();
            vessel("pull", "-q", ref).ok();
            assertEquals("pulled\n", vessel("run", "--rm", ref, "echo", "pulled").ok().out());
        } finally {
            registry.destroy();
            registry.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void delete(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
