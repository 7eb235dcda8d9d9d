package io.vessel.engine.api.docker;

import io.vessel.engine.api.docker.TestDaemon.Result;
import io.vessel.json.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docker history, diff, commit, export and update end to end: the real docker CLI against a daemon
 * in this JVM, containers run by the real runtime, results read back through the CLI, from inside
 * new containers, from the tar the CLI wrote, and from the cgroup files.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DockerFilesCliTest {
    private TestDaemon d;

    @BeforeAll
    void start() throws IOException {
        d = TestDaemon.start("vessel-df-", null, true);
    }

    @AfterAll
    void stop() throws Exception {
        if (d != null) {
            d.close();
        }
    }

    Result docker(String... args) throws IOException, InterruptedException {
        return d.docker(args);
    }

    /** The mounts in this process's table under the daemon's directory, but for the containers' own roots. */
    private List<String> strayMounts() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .map(l -> l.split(" ")[4])
                .filter(m -> m.startsWith(d.dir.toString()) && !m.endsWith("/rootfs") && !m.contains("/netns"))
                .toList();
    }

    @Test
    void history() throws Exception {
        String out = docker("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", "busybox")
                .ok().out();
        String[] rows = out.strip().split("\n");
        String id = docker("image", "inspect", "-f", "{{.Id}}", "busybox").ok().out().strip();
        assertTrue(rows[0].startsWith(id + "|"), out);
        assertFalse(rows[0].endsWith("|0B"), "the top step made the layer with busybox in it: " + out);
        Result missing = docker("history", "no-such-image");
        missing.failed();
        assertTrue(missing.err().contains("no-such-image"), missing.err());
    }

    @Test
    void diffCommitRunExport() throws Exception {
        docker("run", "--name", "writer", "busybox", "sh", "-c",
                "echo hello > /f && mkdir -p /tmp/d && echo x > /tmp/d/y && rm /bin/ls").ok();

        String diff = docker("diff", "writer").ok().out();
        assertTrue(diff.contains("A /f\n"), diff);
        assertTrue(diff.contains("A /tmp/d/y\n"), diff);
        assertTrue(diff.contains("D /bin/ls\n"), diff);
        assertTrue(diff.contains("C /bin\n"), diff);
        assertFalse(diff.contains("/etc/hosts") || diff.contains("/proc") || diff.contains("/dev"),
                "the bundle's mount points are no change of the user's: " + diff);

        // commit with changes, then run the new image: the file is there and CMD is the change's
        String id = docker("commit", "-c", "CMD [\"cat\",\"/f\"]", "-c", "ENV GREETING=hi", "-m", "wrote f",
                "-a", "tester", "writer", "committed:v1").ok().out().strip();
        assertTrue(id.startsWith("sha256:"), id);
        assertEquals("hello\n", docker("run", "--rm", "committed:v1").ok().out());
        assertEquals("hi x\n", docker("run", "--rm", "committed:v1", "sh", "-c", "echo $GREETING $(cat /tmp/d/y)")
                .ok().out());
        assertFalse(docker("run", "--rm", "committed:v1", "ls", "/bin/ls").exit() == 0,
                "the deletion is committed too");
        JsonNode img = JsonNode.parse("inspect", docker("image", "inspect", "committed:v1").ok().out())
                .elements().getFirst();
        assertEquals("tester", img.get("Author").string());
        String hist = docker("history", "--format", "{{.Comment}}", "committed:v1").ok().out();
        assertTrue(hist.startsWith("wrote f\n"), hist);

        // export a stopped container: its merged file system, and nothing left mounted after
        Path tar = d.dir.resolve("writer.tar");
        docker("export", "-o", tar.toString(), "writer").ok();
        String listing = list(tar);
        assertTrue(listing.contains("f\n") && listing.contains("bin/busybox\n") && listing.contains("tmp/d/y\n"),
                listing);
        assertFalse(listing.contains("bin/ls\n"), "a deleted file is not exported: " + listing);
        assertEquals(List.of(), strayMounts());
        Files.delete(tar);
        docker("rm", "writer").ok();
    }

    @Test
    void commitAndExportRunningContainer() throws Exception {
        docker("run", "-d", "--name", "live", "busybox", "sh", "-c", "echo live > /l; exec sleep 1000").ok();
        assertTrue(eventually(() -> docker("exec", "live", "cat", "/l").out().equals("live\n")));
        docker("commit", "live", "committed:live").ok();
        assertEquals("running false", docker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "live")
                .ok().out().strip(), "unpaused after the commit");
        assertEquals("live\n", docker("run", "--rm", "committed:live", "cat", "/l").ok().out());

        Path tar = d.dir.resolve("live.tar");
        docker("export", "-o", tar.toString(), "live").ok();
        String listing = list(tar);
        assertTrue(listing.contains("l\n") && listing.contains("bin/busybox\n"), listing);
        assertFalse(listing.contains("proc/self"), "no mount of the container's is exported: " + listing);
        assertEquals(List.of(), strayMounts());
        Files.delete(tar);
        docker("rm", "-f", "live").ok();
    }

    @Test
    void badInputChangesNothing() throws Exception {
        docker("create", "--name", "idle", "busybox", "true").ok();
        String images = docker("images", "-q", "--no-trunc").ok().out();
        Result noContainer = docker("commit", "no-such-container", "x:y");
        noContainer.failed();
        assertTrue(noContainer.err().contains("No such container: no-such-container"), noContainer.err());
        Result badChange = docker("commit", "-c", "RUN echo no", "idle", "x:y");
        badChange.failed();
        assertTrue(badChange.err().contains("RUN echo no"), badChange.err());
        Result badSyntax = docker("commit", "-c", "FROBNICATE x", "idle");
        badSyntax.failed();
        Result badRepo = docker("commit", "idle", "UPPER/Case:tag");
        badRepo.failed();
        assertEquals(images, docker("images", "-q", "--no-trunc").ok().out(), "no image was made");
        Result diff = docker("diff", "no-such-container");
        diff.failed();
        assertTrue(diff.err().contains("No such container"), diff.err());
        Result export = docker("export", "-o", d.dir.resolve("x.tar").toString(), "no-such-container");
        export.failed();
        assertEquals("", docker("diff", "idle").ok().out(), "a container that ran nothing changed nothing");
        docker("rm", "idle").ok();
    }

    private String list(Path tar) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("tar", "-tf", tar.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private static boolean eventually(DockerContainersCliTest.Check check) throws Exception {
        return DockerContainersCliTest.eventually(10, check);
    }
}
