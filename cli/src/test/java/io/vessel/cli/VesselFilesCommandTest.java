package io.vessel.cli;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code vessel history}, {@code diff}, {@code commit}, {@code export} and {@code update} as a user
 * runs them: {@code ./vessel} with a state directory (and so a daemon) of this class's own.
 */
class VesselFilesCommandTest extends VesselCliFixture {
    @Override
    String statePrefix() {
        return "vessel-files-test";
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
