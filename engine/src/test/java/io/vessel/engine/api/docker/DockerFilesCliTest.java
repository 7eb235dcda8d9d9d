package io.vessel.engine.api.docker;

import io.vessel.engine.api.docker.TestDaemon.Result;
import io.vessel.json.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docker history, diff, commit, export and update end to end: the real docker CLI against a daemon
 * in this JVM, containers run by the real runtime, results read back through the CLI, from inside
 * new containers, from the tar the CLI wrote, and from the cgroup files.
 */
class DockerFilesCliTest extends DaemonCliTest {
    @Override
    TestDaemon startDaemon() throws IOException {
        return TestDaemon.start("vessel-df-", null, true);
    }

    /**
     * The mounts in this process's table under the daemon's directory but for the containers' own
     * roots ({@code <root>/containers/ID/rootfs}) and network namespaces: what an export left.
     */
    private List<String> strayMounts() throws IOException {
        String containers = d.dir.resolve("root/containers").toString();
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .map(l -> l.split(" ")[4])
                .filter(m -> m.startsWith(d.dir.toString()) && !m.startsWith(containers) && !m.contains("/netns"))
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
        assertEquals("wrote f", img.get("Comment").string());
        assertEquals(List.of("cat", "/f"), img.get("Config").get("Cmd").stringList());
        assertTrue(img.get("Config").get("Env").stringList().contains("GREETING=hi"),
                img.get("Config").get("Env").stringList().toString());
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

        // a directory replaced over the committed layer: overlayfs makes it opaque
        docker("run", "--name", "replacer", "committed:v1", "sh", "-c",
                "rm -rf /tmp/d && mkdir /tmp/d && echo z > /tmp/d/z").ok();
        String replaced = docker("diff", "replacer").ok().out();
        assertTrue(replaced.contains("C /tmp/d\n") && replaced.contains("D /tmp/d/y\n")
                && replaced.contains("A /tmp/d/z\n"), replaced);
        docker("export", "-o", tar.toString(), "replacer").ok();
        String exported = list(tar);
        assertTrue(exported.contains("tmp/d/z\n") && !exported.contains("tmp/d/y\n"), exported);
        assertTrue(exported.contains("f\n"), "the committed layer is in the export: " + exported);
        Files.delete(tar);
        docker("rm", "replacer").ok();
        docker("rmi", "committed:v1").ok();
    }

    @Test
    void commitAndExportRunningContainer() throws Exception {
        docker("run", "-d", "--name", "live", "busybox", "sh", "-c", "echo live > /l; exec sleep 1000").ok();
        assertTrue(eventually(() -> docker("exec", "live", "cat", "/l").out().equals("live\n")));
        docker("commit", "live", "committed:live").ok();
        assertEquals("running false", docker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "live")
                .ok().out().strip(), "unpaused after the commit");
        assertEquals("live\n", docker("run", "--rm", "committed:live", "cat", "/l").ok().out());
        assertEquals("[sh -c echo live > /l; exec sleep 1000]",
                docker("image", "inspect", "-f", "{{.Config.Cmd}}", "committed:live").ok().out().strip(),
                "the container's command is the image's");

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
    void exportToAClientThatHangsUpLeavesNoMount() throws Exception {
        docker("run", "--name", "big", "busybox", "sh", "-c", "head -c 4000000 /dev/urandom > /noise").ok();
        try (io.vessel.engine.api.RawClient c = new io.vessel.engine.api.RawClient(d.socket)) {
            c.send("GET /containers/big/export HTTP/1.1\r\nHost: docker\r\n\r\n");
            assertEquals(200, c.readHead().status());
            assertTrue(c.input().read(new byte[1024]) > 0, "the archive began");
        } // hung up with most of the archive unread
        assertTrue(eventually(() -> strayMounts().isEmpty()), "the export's mount is gone: " + strayMounts());
        assertTrue(eventually(this::noExportDirectory), "and its directory");
        docker("rm", "big").ok();
        Result raw = docker("diff", "big");
        raw.failed();
    }

    @Test
    void aRunningContainerIsFrozenWhileItIsExported() throws Exception {
        // the export walks paths a running process could swap for links to the host: frozen meanwhile
        docker("run", "-d", "--name", "frozen", "busybox", "sh", "-c",
                "head -c 4000000 /dev/urandom > /noise; exec sleep 1000").ok();
        assertTrue(eventually(() -> docker("exec", "frozen", "stat", "-c", "%s", "/noise").out().equals("4000000\n")));
        try (io.vessel.engine.api.RawClient c = new io.vessel.engine.api.RawClient(d.socket)) {
            c.send("GET /containers/frozen/export HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
            assertEquals(200, c.readHead().status());
            // the archive is far larger than the socket's buffers: the export waits for this reader
            assertTrue(eventually(() -> docker("inspect", "-f", "{{.State.Status}}", "frozen").ok().out().strip()
                    .equals("paused")), "frozen while the export is under way");
            c.input().transferTo(java.io.OutputStream.nullOutputStream());
        }
        assertTrue(eventually(() -> docker("inspect", "-f", "{{.State.Status}}", "frozen").ok().out().strip()
                .equals("running")), "thawed after it");
        docker("rm", "-f", "frozen").ok();
    }

    /** A commit body that is not a Config, and a tag without a repository: 400s naming what is wrong. */
    @Test
    void hostileCommitRequests() throws Exception {
        docker("create", "--name", "target", "busybox", "true").ok();
        var notJson = io.vessel.engine.api.RawClient.exchange(d.socket, "POST /commit?container=target HTTP/1.1\r\n"
                + "Host: docker\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{bad!");
        assertEquals(400, notJson.status(), notJson.body());
        assertTrue(notJson.body().contains("invalid JSON"), notJson.body());
        var noRepo = io.vessel.engine.api.RawClient.exchange(d.socket, "POST /commit?container=target&tag=v1 HTTP/1.1\r\n"
                + "Host: docker\r\nContent-Length: 0\r\n\r\n");
        assertEquals(400, noRepo.status(), noRepo.body());
        var badPath = io.vessel.engine.api.RawClient.exchange(d.socket, "POST /commit?container=target&repo=..%2F..%2Fx"
                + " HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n");
        assertEquals(400, badPath.status(), badPath.body());
        var update = io.vessel.engine.api.RawClient.exchange(d.socket, "POST /containers/target/update HTTP/1.1\r\n"
                + "Host: docker\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"Memory\":\"lots\"}");
        assertEquals(400, update.status(), update.body());
        assertTrue(update.body().contains("Memory"), update.body());
        docker("rm", "target").ok();
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

    /** The container's limits as its cgroup has them (v1 or v2 files, whichever there are). */
    private String limits(String container) throws Exception {
        return docker("exec", container, "sh", "-c",
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null;"
                        + " cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null;"
                        + " cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null;"
                        + " cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu.weight 2>/dev/null; true")
                .ok().out();
    }

    @Test
    void updateLimitsAndRestartPolicy() throws Exception {
        docker("run", "-d", "--name", "upd", "--memory", "64m", "busybox", "sleep", "1000").ok();
        Result r = docker("update", "--memory", "32m", "--cpus", "0.5", "--pids-limit", "20", "--cpu-shares", "512",
                "--restart", "on-failure:3", "upd").ok();
        assertEquals("upd\n", r.out());
        String limits = limits("upd");
        for (String want : List.of("33554432\n", "20\n", "50000", "512\n")) {
            assertTrue(limits.contains(want), "missing " + want.trim() + " in:\n" + limits);
        }
        assertEquals("33554432 500000000 512 20 on-failure 3", docker("inspect", "-f",
                "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}"
                        + " {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "upd")
                .ok().out().strip());

        // bad input: Docker's error, and the limits stay
        Result tooLittle = docker("update", "--memory", "1k", "upd");
        tooLittle.failed();
        assertTrue(tooLittle.err().contains("Minimum memory limit"), tooLittle.err());
        Result badPolicy = docker("update", "--restart", "sometimes", "upd");
        badPolicy.failed();
        assertTrue(badPolicy.err().contains("sometimes"), badPolicy.err());
        Result missing = docker("update", "--memory", "32m", "no-such-container");
        missing.failed();
        assertTrue(missing.err().contains("No such container"), missing.err());
        assertEquals(limits, limits("upd"));

        // a stopped container keeps the update for its next start
        docker("stop", "-t", "0", "upd").ok();
        docker("update", "--memory", "48m", "upd").ok();
        docker("start", "upd").ok();
        assertTrue(limits("upd").contains("50331648\n"), limits("upd"));
        docker("rm", "-f", "upd").ok();

        docker("run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "1000").ok();
        Result rm = docker("update", "--restart", "always", "gone");
        rm.failed();
        assertTrue(rm.err().contains("AutoRemove"), rm.err());
        docker("rm", "-f", "gone").ok();
    }

    private boolean noExportDirectory() throws IOException {
        Path exports = d.dir.resolve("run/export");
        if (!Files.exists(exports)) {
            return true;
        }
        try (var s = Files.list(exports)) {
            return s.findAny().isEmpty();
        }
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
