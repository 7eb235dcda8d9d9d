package io.vessel.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code vessel history}, {@code diff}, {@code commit}, {@code export} and {@code update} as a user
 * runs them: {@code ./vessel} with a state directory (and so a daemon) of this class's own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VesselFilesCommandTest {
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
        state = Files.createTempDirectory("vessel-files-test");
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
            vessel("daemon", "--stop");
        }
        io.vessel.engine.network.Networks.open(io.vessel.engine.network.NetworksConfig.fromEnvironment(
                state.resolve("lib"), state.resolve("run"), true)).dismantle();
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(state.toString()), "no mount is left");
        io.vessel.linux.FileTrees.remove(state);
    }

    Result vessel(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(VesselCommandTest.repo().resolve("vessel").toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("vessel", ".out");
        Path err = Files.createTempFile("vessel", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
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
    void historyDiffCommitExportUpdate() throws Exception {
        vessel("run", "--name", "wr", "busybox", "sh", "-c", "echo made > /made; rm /bin/cat").ok();
        String history = vessel("history", "busybox").ok().out();
        assertTrue(history.startsWith("IMAGE ") && history.contains("CREATED BY"), history);

        String diff = vessel("diff", "wr").ok().out();
        assertTrue(diff.contains("A /made\n") && diff.contains("D /bin/cat\n"), diff);

        String id = vessel("commit", "-c", "CMD [\"sh\",\"-c\",\"echo $(busybox cat /made)\"]", "-m", "m", "wr",
                "made:1").ok().out().strip();
        assertTrue(id.startsWith("sha256:"), id);
        assertEquals("made\n", vessel("run", "--rm", "made:1").ok().out());
        assertTrue(vessel("image", "history", "made:1").ok().out().lines().skip(1).findFirst().orElse("")
                .endsWith(" m"), "the comment is the newest step's");

        Path tar = state.resolve("wr.tar");
        vessel("export", "-o", tar.toString(), "wr").ok();
        Process p = new ProcessBuilder("tar", "-tf", tar.toString()).redirectErrorStream(true).start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), listing);
        assertTrue(listing.contains("made\n") && listing.contains("bin/busybox\n"), listing);

        vessel("run", "-d", "--name", "up", "busybox", "sleep", "1000").ok();
        assertEquals("up\n", vessel("update", "--memory", "40m", "--pids-limit", "30", "up").ok().out());
        String limits = vessel("exec", "up", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/pids/pids.max").ok().out();
        assertEquals((40L << 20) + "\n30\n", limits);
        Result bad = vessel("update", "--memory", "1k", "up");
        assertNotEquals(0, bad.exit());
        assertTrue(bad.err().contains("Minimum memory limit"), bad.err());
        Result none = vessel("diff", "no-such");
        assertNotEquals(0, none.exit());
        assertTrue(none.err().contains("No such container: no-such"), none.err());
        vessel("rm", "-f", "up", "wr").ok();
        vessel("rmi", "made:1").ok();
    }
}
