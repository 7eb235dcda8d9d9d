package io.vessel.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
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

/**
 * {@code ./vessel} as a user runs it (the script, the JVM, the runtime, real containers), for a
 * test class with a state directory of its own and so a daemon of its own, which the first
 * command starts and the class's end stops; containers, the default bridge and its nftables
 * table go with it, and no mount may be left.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class VesselCliFixture {
    record Result(int exit, String out, String err) {
        Result ok() {
            assertEquals(0, exit, "exit status; stderr: " + err + "; stdout: " + out);
            return this;
        }
    }

    /** The class's state directory: VESSEL_ROOT is its {@code lib}, VESSEL_RUN its {@code run}. */
    protected Path state;

    /** The prefix of the state directory's name. */
    abstract String statePrefix();

    @BeforeAll
    void setUpState() throws IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root (namespaces, cgroups, overlay mounts); running as " + System.getProperty("user.name"));
        state = Files.createTempDirectory(statePrefix());
    }

    @AfterAll
    void tearDownState() throws Exception {
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
        io.vessel.linux.FileTrees.remove(state);
    }

    /** The repository's root (where ./vessel is). */
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
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VESSEL_ROOT", state.resolve("lib").toString());
        pb.environment().put("VESSEL_RUN", state.resolve("run").toString());
        pb.environment().put("DOCKER_CONFIG", state.resolve("docker").toString());
        return capture(pb, input);
    }

    /**
     * Runs {@code pb} to its end (at most two minutes) with {@code input} (null: /dev/null) as its
     * stdin, its stdout and stderr captured through temporary files.
     */
    static Result capture(ProcessBuilder pb, Path input) throws IOException, InterruptedException {
        Path out = Files.createTempFile("vessel", ".out");
        Path err = Files.createTempFile("vessel", ".err");
        try {
            pb.redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(input == null ? new File("/dev/null") : input.toFile()));
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", pb.command()) + " did not finish");
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
