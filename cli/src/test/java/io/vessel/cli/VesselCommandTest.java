package io.vessel.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's commands, end to end, through {@code ./vessel} ({@link VesselCliFixture}). */
class VesselCommandTest extends VesselCliFixture {
    @Override
    String statePrefix() {
        return "vessel-cli-test";
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
}
