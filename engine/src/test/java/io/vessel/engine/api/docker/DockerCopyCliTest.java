package io.vessel.engine.api.docker;

import io.vessel.engine.api.RawClient;
import io.vessel.engine.api.docker.TestDaemon.Result;
import io.vessel.image.archive.TarOutput;
import io.vessel.json.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /containers/{id}/archive} end to end: the real docker CLI's {@code docker cp} both ways,
 * into and out of running, created and exited containers, and raw requests that try to leave the
 * container's root (with {@code ..}, with links, with tar members) and must change nothing.
 */
class DockerCopyCliTest extends DaemonCliTest {
    @Override
    TestDaemon startDaemon() throws IOException {
        return TestDaemon.start("vessel-dcp-", null, true);
    }

    @AfterEach
    void removeContainers() throws Exception {
        removeAllContainers();
    }

    @Test
    void copyFilesAndDirectoriesBothWaysWithARunningContainer() throws Exception {
        docker("run", "-d", "--name", "box", "--tmpfs", "/scratch", "busybox", "sleep", "1000").ok();
        Path src = Files.createDirectories(dir.resolve("src/tree/sub"));
        Files.writeString(src.resolve("a.txt"), "alpha\n");
        Path script = Files.writeString(dir.resolve("src/tree/run.sh"), "#!/bin/sh\necho run\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(dir.resolve("src/tree/link"), Path.of("sub/a.txt"));

        docker("exec", "box", "mkdir", "/opt").ok();
        docker("cp", dir.resolve("src/tree").toString(), "box:/opt/").ok();
        assertEquals("alpha\nrun\n750\nsub/a.txt\n", docker("exec", "box", "sh", "-c",
                "cat /opt/tree/sub/a.txt; /opt/tree/run.sh; stat -c %a /opt/tree/run.sh; readlink /opt/tree/link").ok().out());
        // to a directory that does not exist: it gets the source directory's content
        docker("cp", dir.resolve("src/tree").toString(), "box:/fresh").ok();
        assertEquals("alpha\n", docker("exec", "box", "cat", "/fresh/sub/a.txt").ok().out());
        docker("cp", dir.resolve("src/tree/sub/a.txt").toString(), "box:/renamed.txt").ok();
        assertEquals("alpha\n", docker("exec", "box", "cat", "/renamed.txt").ok().out());
        // the container's own mounts are its view: a tmpfs only it has
        docker("cp", dir.resolve("src/tree/sub/a.txt").toString(), "box:/scratch/").ok();
        assertEquals("alpha\n", docker("exec", "box", "cat", "/scratch/a.txt").ok().out());
        docker("exec", "box", "sh", "-c", "echo only in tmpfs > /scratch/t.txt").ok();
        docker("cp", "box:/scratch/t.txt", dir.resolve("t.txt").toString()).ok();
        assertEquals("only in tmpfs\n", Files.readString(dir.resolve("t.txt")));

        docker("exec", "box", "sh", "-c", "mkdir -p /made/deep && echo made > /made/deep/f && ln /made/deep/f /made/hard").ok();
        Path out = Files.createDirectories(dir.resolve("out"));
        docker("cp", "box:/made", out.toString()).ok();
        assertEquals("made\n", Files.readString(out.resolve("made/deep/f")));
        assertEquals("made\n", Files.readString(out.resolve("made/hard")));
        docker("cp", "box:/made/deep/f", out.resolve("single.txt").toString()).ok();
        assertEquals("made\n", Files.readString(out.resolve("single.txt")));
        docker("cp", "box:/opt/tree/link", out.resolve("link").toString()).ok();
        assertEquals(Path.of("sub/a.txt"), Files.readSymbolicLink(out.resolve("link")), "a link is copied as a link");

        // to stdout: the tar itself, with the path's last component as its top member
        Result tar = docker("cp", "box:/made/deep/f", "-");
        assertEquals(0, tar.exit(), tar.err());
        assertTrue(tar.out().startsWith("f\0"), "the member is named f");

        Result missing = docker("cp", "box:/no/such/file", out.toString());
        assertFalse(missing.exit() == 0);
        assertTrue(missing.err().contains("Could not find the file /no/such/file in container box"), missing.err());
    }

    @Test
    void createdAndExitedContainers() throws Exception {
        docker("create", "--name", "later", "busybox", "cat", "/etc/greeting").ok();
        Files.writeString(dir.resolve("greeting"), "hello before start\n");
        docker("cp", dir.resolve("greeting").toString(), "later:/etc/greeting").ok();
        assertEquals("hello before start\n", docker("start", "-a", "later").ok().out());
        // exited: its root file system was unmounted at the exit and is mounted again for the copy
        docker("cp", "later:/etc/greeting", dir.resolve("back.txt").toString()).ok();
        assertEquals("hello before start\n", Files.readString(dir.resolve("back.txt")));
        assertEquals("hello before start\n", docker("start", "-a", "later").ok().out(), "it starts again after the copy");
        docker("rm", "later").ok();
    }

    @Test
    void anExitedContainersVolumesAndBindsAreCopiedToo() throws Exception {
        Path data = Files.createDirectories(dir.resolve("bind-data"));
        Files.writeString(data.resolve("in-bind.txt"), "bound\n");
        Path ro = Files.createDirectories(dir.resolve("ro-data"));
        docker("volume", "create", "cpvol").ok();
        docker("run", "--name", "vols", "-v", data + ":/data", "-v", ro + ":/ro:ro", "-v", "cpvol:/vol", "busybox",
                "sh", "-c", "echo in-volume > /vol/v.txt").ok();
        String id = docker("inspect", "-f", "{{.Id}}", "vols").ok().out().trim();

        docker("cp", "vols:/data/in-bind.txt", dir.resolve("b.txt").toString()).ok();
        assertEquals("bound\n", Files.readString(dir.resolve("b.txt")));
        docker("cp", "vols:/vol/v.txt", dir.resolve("v.txt").toString()).ok();
        assertEquals("in-volume\n", Files.readString(dir.resolve("v.txt")));
        Files.writeString(dir.resolve("up.txt"), "up\n");
        docker("cp", dir.resolve("up.txt").toString(), "vols:/data/").ok();
        assertEquals("up\n", Files.readString(data.resolve("up.txt")), "written into the bind's host directory");
        Result refused = docker("cp", dir.resolve("up.txt").toString(), "vols:/ro/");
        assertFalse(refused.exit() == 0, refused.out());
        assertTrue(refused.err().contains("read-only"), refused.err());
        try (var s = Files.list(ro)) {
            assertEquals(0, s.count(), "nothing was written through the read-only bind");
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            assertFalse(line.contains(id + "/rootfs/"), "the binds were unmounted after the copies: " + line);
        }
        docker("rm", "vols").ok();
        docker("volume", "rm", "cpvol").ok();
    }

    @Test
    void statHeaderAndErrors() throws Exception {
        docker("run", "-d", "--name", "st", "busybox", "sleep", "1000").ok();
        docker("exec", "st", "sh", "-c", "printf 12345 > /five && chmod 4755 /five && ln -s /five /link").ok();
        JsonNode five = stat(head("st", "/five"));
        assertEquals("five", five.get("name").string());
        assertEquals(5, five.get("size").longValue());
        assertEquals(04755 & 0777 | (1L << 23), five.get("mode").longValue(), "permissions and Go's ModeSetuid");
        assertEquals("", five.get("linkTarget").string());
        JsonNode link = stat(head("st", "/link"));
        assertEquals(1L << 27 | 0777, link.get("mode").longValue(), "Go's ModeSymlink");
        assertEquals("/five", link.get("linkTarget").string());
        JsonNode root = stat(head("st", "/"));
        assertEquals(1L << 31, root.get("mode").longValue() & (1L << 31), "Go's ModeDir");

        assertEquals(404, head("st", "/nope").status());
        RawClient.Response noPath = RawClient.exchange(d.socket, "GET /v1.47/containers/st/archive HTTP/1.1\r\nHost: d\r\n"
                + "Connection: close\r\n\r\n");
        assertEquals(400, noPath.status());
        assertTrue(noPath.body().contains("path"), noPath.body());
        RawClient.Response noContainer = RawClient.exchange(d.socket, "GET /v1.47/containers/nosuch/archive?path=/ HTTP/1.1\r\n"
                + "Host: d\r\nConnection: close\r\n\r\n");
        assertEquals(404, noContainer.status());
        assertTrue(noContainer.body().contains("No such container: nosuch"), noContainer.body());
        RawClient.Response notDir = put("st", "/five", tar(t -> t.file("x", 0644, 0, new byte[]{1})));
        assertEquals(400, notDir.status());
        assertTrue(notDir.body().contains("not a directory"), notDir.body());
    }

    @Test
    void nothingLeavesTheContainersRoot() throws Exception {
        Path host = Files.createDirectories(dir.resolve("hostside"));
        Files.writeString(host.resolve("secret"), "host secret\n");
        docker("run", "-d", "--name", "esc", "busybox", "sleep", "1000").ok();
        docker("exec", "esc", "sh", "-c", "ln -s " + host + " /tohost && ln -s / /up").ok();

        // reading: '..' stops at the container's root, and links resolve inside it
        assertEquals(404, head("esc", "/../../../../.." + host + "/secret").status());
        assertEquals(404, head("esc", "/tohost/secret").status());
        assertEquals(404, head("esc", "/up/up/up" + host + "/secret").status());
        Result viaLink = docker("cp", "esc:/tohost/secret", dir.resolve("stolen").toString());
        assertFalse(viaLink.exit() == 0, "copied " + viaLink.out());
        assertFalse(Files.exists(dir.resolve("stolen")));

        // writing: a target through a link is the container's path, absent there
        assertEquals(404, put("esc", "/tohost", tar(t -> t.file("planted", 0644, 0, new byte[]{1}))).status());
        // members that climb out, or go through a link, are refused
        RawClient.Response dotdot = put("esc", "/tmp", tar(t -> t.file("../../../../.." + host + "/planted", 0644, 0,
                new byte[]{1})));
        assertEquals(400, dotdot.status(), dotdot.body());
        RawClient.Response throughLink = put("esc", "/", tar(t -> {
            t.symlink("out", host.toString(), 0);
            t.file("out/planted", 0644, 0, new byte[]{1});
        }));
        assertEquals(400, throughLink.status(), throughLink.body());
        RawClient.Response existingLink = put("esc", "/", tar(t -> t.file("tohost/planted", 0644, 0, new byte[]{1})));
        assertEquals(400, existingLink.status(), existingLink.body());
        try (var s = Files.list(host)) {
            assertEquals(java.util.List.of(host.resolve("secret")), s.toList(), "nothing was written on the host");
        }
        assertEquals("host secret\n", Files.readString(host.resolve("secret")));
        assertFalse(Files.exists(Path.of("/planted"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void copiedWhiteoutNamesAreOrdinaryFiles() throws Exception {
        docker("run", "-d", "--name", "wh", "busybox", "sleep", "1000").ok();
        docker("exec", "wh", "sh", "-c", "mkdir /dst && echo victim > /dst/victim").ok();
        Path src = Files.createDirectories(dir.resolve("whsrc"));
        Files.writeString(src.resolve(".wh.victim"), "a file called .wh.victim\n");
        Files.writeString(src.resolve(".wh..wh..opq"), "a file called .wh..wh..opq\n");
        docker("cp", src + "/.", "wh:/dst/").ok();
        assertEquals("victim\na file called .wh.victim\na file called .wh..wh..opq\n", docker("exec", "wh", "sh", "-c",
                "cat /dst/victim /dst/.wh.victim /dst/.wh..wh..opq").ok().out(), "an image layer's whiteout names mean nothing in a copy");
    }

    @Test
    void aMemberNeverEmptiesAMountOrReplacesADirectoryWhenAskedNotTo() throws Exception {
        Path data = Files.createDirectories(dir.resolve("mounted-data"));
        Files.writeString(data.resolve("keep.txt"), "host data\n");
        docker("run", "-d", "--name", "mnt", "-v", data + ":/data", "busybox", "sleep", "1000").ok();
        docker("exec", "mnt", "sh", "-c", "mkdir -p /plain/sub && echo inside > /plain/sub/f").ok();
        Path src = Files.createDirectories(dir.resolve("replacers"));
        Files.writeString(src.resolve("plain"), "a file named like the container's directory\n");

        // docker cp asks noOverwriteDirNonDir: a file does not replace a directory, in dockerd's words
        Result cli = docker("cp", src.resolve("plain").toString(), "mnt:/");
        assertFalse(cli.exit() == 0, cli.out());
        assertTrue(cli.err().contains("cannot overwrite the directory \"plain\" with a non-directory"), cli.err());
        assertEquals("inside\n", docker("exec", "mnt", "cat", "/plain/sub/f").ok().out());
        RawClient.Response dirOverFile = put("mnt", "/plain/sub", "noOverwriteDirNonDir=1",
                tar(t -> t.directory("f", 0755, 0)));
        assertEquals(400, dirOverFile.status(), dirOverFile.body());
        assertTrue(dirOverFile.body().contains("cannot overwrite the non-directory \\\"f\\\" with a directory"),
                dirOverFile.body());
        assertEquals("inside\n", docker("exec", "mnt", "cat", "/plain/sub/f").ok().out());

        // without it a member may replace a directory, but never one holding a mount: that is the host's
        RawClient.Response overMount = put("mnt", "/", "", tar(t -> t.file("data", 0644, 0, new byte[]{1})));
        assertEquals(400, overMount.status(), overMount.body());
        assertTrue(overMount.body().contains("\\\"data\\\", a mount point"), overMount.body());
        RawClient.Response intoMount = put("mnt", "/data", "", tar(t -> t.file("x", 0644, 0, new byte[]{1})));
        assertEquals(200, intoMount.status(), intoMount.body());
        RawClient.Response replaced = put("mnt", "/", "", tar(t -> t.file("plain", 0644, 0, new byte[]{7})));
        assertEquals(200, replaced.status(), replaced.body());
        assertEquals("1", docker("exec", "mnt", "sh", "-c", "[ -f /plain ] && wc -c < /plain").ok().out().trim());
        assertEquals("host data\n", Files.readString(data.resolve("keep.txt")), "the bind's host files are all there");
    }

    @Test
    void aRunningContainerIsFrozenWhileItsFilesAreCopied() throws Exception {
        // frozen, none of its processes can swap a checked directory for a link to the host mid-copy
        docker("run", "-d", "--name", "frz", "busybox", "sleep", "1000").ok();
        copyHalfway("frz", "/", () -> assertEquals("paused", awaitStatus("frz", "paused"), "frozen while the copy is under way"));
        assertEquals("running", awaitStatus("frz", "running"), "thawed after the copy");
        assertEquals("late\n", docker("exec", "frz", "cat", "/late.txt").ok().out());

        docker("pause", "frz").ok();
        docker("cp", "frz:/late.txt", dir.resolve("late.txt").toString()).ok();
        assertEquals("late\n", Files.readString(dir.resolve("late.txt")));
        assertEquals("paused", status("frz"), "a container its user paused stays paused after a copy");
        docker("unpause", "frz").ok();
    }

    @Test
    void containersSharingAVolumeOrABindAreFrozenWithTheOneCopiedInto() throws Exception {
        // any container that shares the volume could swap a directory in it for a link mid-copy
        docker("run", "-d", "--name", "va", "-v", "cpshared:/data", "busybox", "sleep", "1000").ok();
        docker("run", "-d", "--name", "vb", "-v", "cpshared:/mnt/other", "busybox", "sleep", "1000").ok();
        docker("run", "-d", "--name", "vc", "-v", "cpother:/data", "busybox", "sleep", "1000").ok();
        Path tree = Files.createDirectories(dir.resolve("cptree/sub"));
        docker("run", "-d", "--name", "vd", "-v", tree.getParent() + ":/tree", "busybox", "sleep", "1000").ok();
        docker("run", "-d", "--name", "ve", "-v", tree + ":/sub", "busybox", "sleep", "1000").ok();

        copyHalfway("va", "/data", () -> {
            assertEquals("paused", awaitStatus("va", "paused"));
            assertEquals("paused", awaitStatus("vb", "paused"), "the volume's other user is frozen too");
            assertEquals("running", status("vc"), "a container with another volume runs on");
            assertEquals("running", status("vd"), "a container with no mount in common runs on");
        });
        for (String c : List.of("va", "vb", "vc", "vd", "ve")) {
            assertEquals("running", awaitStatus(c, "running"), c + " after the copy");
        }
        assertEquals("late\n", docker("exec", "vb", "cat", "/mnt/other/late.txt").ok().out());

        // a bind of a directory inside another container's bind overlaps it
        copyHalfway("vd", "/tree", () -> {
            assertEquals("paused", awaitStatus("ve", "paused"), "the container binding a directory inside is frozen");
            assertEquals("running", status("va"));
        });
        assertEquals("running", awaitStatus("ve", "running"));
    }

    /** A PUT of one small file into {@code container}'s {@code path}, with {@code during} run while the body is half sent. */
    private void copyHalfway(String container, String path, ThrowingRunnable during) throws Exception {
        byte[] whole = tar(t -> t.file("late.txt", 0644, 0, "late\n".getBytes(StandardCharsets.UTF_8)));
        try (RawClient c = new RawClient(d.socket)) {
            c.send("PUT /v1.47/containers/" + container + "/archive?path=" + path + " HTTP/1.1\r\nHost: d\r\n"
                    + "Content-Type: application/x-tar\r\nContent-Length: " + whole.length + "\r\nConnection: close\r\n\r\n");
            c.send(java.util.Arrays.copyOf(whole, 512)); // the member's header: the copy waits for its data
            during.run();
            c.send(java.util.Arrays.copyOfRange(whole, 512, whole.length));
            RawClient.Response r = c.read();
            assertEquals(200, r.status(), r.body());
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    private String status(String container) throws IOException, InterruptedException {
        return docker("inspect", "-f", "{{.State.Status}}", container).ok().out().trim();
    }

    /** The container's status once it is {@code want}, or the last one seen after about ten seconds. */
    private String awaitStatus(String container, String want) throws IOException, InterruptedException {
        String seen = status(container);
        for (int i = 0; i < 50 && !seen.equals(want); i++) {
            Thread.sleep(200);
            seen = status(container);
        }
        return seen;
    }

    @Test
    void readOnlyRootIsRefused() throws Exception {
        docker("run", "-d", "--name", "ro", "--read-only", "busybox", "sleep", "1000").ok();
        RawClient.Response r = put("ro", "/", tar(t -> t.file("new", 0644, 0, new byte[]{1})));
        assertEquals(403, r.status(), r.body());
        assertTrue(r.body().contains("read-only"), r.body());
    }

    // ---------------------------------------------------------------- helpers

    private RawClient.Response head(String container, String path) throws IOException {
        try (RawClient c = new RawClient(d.socket)) {
            return c.send("HEAD /v1.47/containers/" + container + "/archive?path="
                    + java.net.URLEncoder.encode(path, StandardCharsets.UTF_8) + " HTTP/1.1\r\nHost: d\r\n"
                    + "Connection: close\r\n\r\n").readHead();
        }
    }

    private static JsonNode stat(RawClient.Response r) {
        assertEquals(200, r.status());
        String header = r.header(ArchiveRoutes.STAT_HEADER);
        return JsonNode.parse("stat", new String(Base64.getDecoder().decode(header), StandardCharsets.UTF_8));
    }

    private RawClient.Response put(String container, String path, byte[] tar) throws IOException {
        return put(container, path, "", tar);
    }

    /** A PUT of {@code tar} to {@code path}, with {@code query} (more parameters, or "") after it. */
    private RawClient.Response put(String container, String path, String query, byte[] tar) throws IOException {
        ByteArrayOutputStream request = new ByteArrayOutputStream();
        request.writeBytes(("PUT /v1.47/containers/" + container + "/archive?path="
                + java.net.URLEncoder.encode(path, StandardCharsets.UTF_8) + (query.isEmpty() ? "" : "&" + query)
                + " HTTP/1.1\r\nHost: d\r\n"
                + "Content-Type: application/x-tar\r\nContent-Length: " + tar.length + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8));
        request.writeBytes(tar);
        try (RawClient c = new RawClient(d.socket)) {
            // in one write: a refusal may come, and the connection close, before a separate body is sent
            return c.send(request.toByteArray()).read();
        }
    }

    private interface Members {
        void write(TarOutput t) throws IOException;
    }

    private static byte[] tar(Members m) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TarOutput t = new TarOutput(b);
        m.write(t);
        t.finish();
        return b.toByteArray();
    }
}
