package io.vessel.runtime.it;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's first command: ./vessel run busybox ..., with its own state directories. */
class VesselCommandTest {
    record Result(int exit, String out, String err) {
    }

    static Result vessel(Path state, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Bundle.repo().resolve("vessel").toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("vessel", ".out");
        Path err = Files.createTempFile("vessel", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put("VESSEL_ROOT", state.resolve("lib").toString());
            pb.environment().put("VESSEL_RUN", state.resolve("run").toString());
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
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
    void runsBusyboxWithItsOwnLayerAndLimits(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Root.assume();
        Result r = vessel(tmp, "run", "--name", "readme-" + ProcessHandle.current().pid(), "-m", "48m", "-e", "GREETING=hi",
                "busybox", "sh", "-c", "echo $GREETING from $(hostname); echo data > /etc/written; "
                        + "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exit 7");
        assertEquals(7, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("hi from readme-"), r.out());
        assertEquals(Long.toString(48L << 20), lines.get(1));
        // the write went to the container's layer, which is gone with it; the image is untouched
        assertFalse(Files.exists(tmp.resolve("lib/images/busybox/rootfs/etc/written")));
        assertEquals(List.of(), List.of(tmp.resolve("lib/containers").toFile().list()));
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(tmp.toString()), "no mount is left");

        Result bad = vessel(tmp, "run", "alpine", "true");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("unknown image \"alpine\""), bad.err());
    }
}
