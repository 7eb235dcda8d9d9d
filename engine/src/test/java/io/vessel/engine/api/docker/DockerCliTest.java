package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.api.docker.TestDaemon.Result;
import io.vessel.engine.api.Daemon;
import io.vessel.engine.api.RawClient;
import io.vessel.json.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The daemon end to end: started in this JVM on a temporary socket over a temporary root, driven
 * by the real docker CLI ({@code DOCKER_HOST=unix://...}) and by raw requests that a hostile local
 * client could send.
 */
class DockerCliTest extends DaemonCliTest {
    static final Path DOCKER = TestDaemon.DOCKER;

    @Override
    TestDaemon startDaemon() throws IOException {
        return TestDaemon.start("vessel-daemon-", null, false);
    }

    Result dockerIn(Path cwd, String... args) throws IOException, InterruptedException {
        return d.run(cwd, null, TestDaemon.docker(List.of(args)));
    }

    @Test
    void versionAndInfo() throws Exception {
        // Docker's release of the API served (clients compare it with Docker's), and Vessel's own as a component
        assertEquals("28.2.0 1.50 1.41 linux\n",
                docker("version", "--format", "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}").ok().out());
        String version = docker("version").ok().out();
        assertTrue(version.contains("Vessel Engine 0.1.0"), version);
        assertTrue(version.matches("(?s).*\n Vessel:\n  Version: +0\\.1\\.0\n.*"), version);
        Result info = docker("info").ok();
        assertTrue(info.out().contains("Server Version: 28.2.0"), info.out());
        assertTrue(info.out().contains("Docker Root Dir: " + engine.config().root()), info.out());
        assertEquals("linux " + engine.config().root() + "\n",
                docker("info", "--format", "{{.OSType}} {{.DockerRootDir}}").ok().out());
    }

    @Test
    void imagesTagInspectAndRmi() throws Exception {
        assertTrue(docker("images", "--format", "{{.Repository}}:{{.Tag}}").ok().out().lines().toList().contains("busybox:latest"));
        docker("tag", "busybox", "example/bb:1").ok();
        String id = docker("image", "inspect", "--format", "{{.Id}}", "busybox").ok().out().trim();
        assertEquals(id + "\n", docker("image", "inspect", "--format", "{{.Id}}", "example/bb:1").ok().out());
        assertEquals("example/bb:1\n", docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=example/*").ok().out());
        assertEquals("", docker("images", "-q", "--filter", "dangling=true").ok().out());
        Result rmi = docker("rmi", "example/bb:1").ok();
        assertTrue(rmi.out().contains("Untagged: example/bb:1"), rmi.out());
        assertFalse(rmi.out().contains("Deleted"), "busybox still names the image: " + rmi.out());
        Result missing = docker("rmi", "example/bb:1").failed();
        assertTrue(missing.err().contains("No such image: example/bb:1"), missing.err());
        Result badFilter = docker("images", "--filter", "colour=blue").failed();
        assertTrue(badFilter.err().contains("invalid filter 'colour'"), badFilter.err());
    }

    @Test
    void pushAndPullThroughALocalRegistry() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(TestRegistry.BINARY), "no docker-registry (Debian's docker-registry package)");
        try (TestRegistry registry = TestRegistry.start(dir.resolve("registry"))) {
            String ref = registry.host() + "/tools/bb:1";
            docker("tag", "busybox", ref).ok();
            Result push = docker("push", ref).ok();
            assertTrue(push.out().contains("The push refers to repository [" + registry.host() + "/tools/bb]"), push.out());
            assertTrue(push.out().contains("1: digest: sha256:"), push.out());
            docker("rmi", ref).ok();
            Result pull = docker("pull", ref).ok();
            assertTrue(pull.out().contains("Status: Downloaded newer image for " + ref), pull.out());
            assertTrue(pull.out().contains("Digest: sha256:"), pull.out());
            assertTrue(docker("pull", ref).ok().out().contains("Status: Image is up to date for " + ref));
            assertTrue(docker("images", "--format", "{{.Repository}}:{{.Tag}}").ok().out().contains(ref));
            Result absent = docker("pull", registry.host() + "/tools/absent:1").failed();
            assertTrue(absent.err().contains("Error response from daemon"), absent.err());
            docker("rmi", ref).ok();
        }
    }

    @Test
    void loginChecksWithTheRegistryAndPushesCarryTheCredentials() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(TestRegistry.BINARY), "no docker-registry (Debian's docker-registry package)");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/htpasswd")), "no htpasswd (apache2-utils)");
        Path regDir = Files.createDirectories(dir.resolve("auth-registry"));
        Process h = new ProcessBuilder("htpasswd", "-Bbn", "bob", "hunter2").start();
        Files.write(regDir.resolve("htpasswd"), h.getInputStream().readAllBytes());
        assertEquals(0, h.waitFor());
        String auth = "  htpasswd:\n    realm: vessel-test\n    path: " + regDir.resolve("htpasswd") + "\n";
        try (TestRegistry registry = TestRegistry.start(regDir, auth)) {
            Result wrong = docker("login", "-u", "bob", "-p", "wrong", registry.host()).failed();
            assertTrue(wrong.err().contains("401") || wrong.err().toLowerCase().contains("unauthorized")
                    || wrong.err().contains("denied"), wrong.err());
            String ref = registry.host() + "/private/bb:1";
            docker("tag", "busybox", ref).ok();
            Result refused = docker("push", ref).failed();
            assertTrue((refused.err() + refused.out()).contains("authentication required"), refused.err() + refused.out());
            assertTrue(docker("login", "-u", "bob", "-p", "hunter2", registry.host()).ok().out().contains("Login Succeeded"));
            assertFalse(Files.exists(dir.resolve("creds.json")), "the daemon stores no credentials; the CLI does");
            assertTrue(docker("push", ref).ok().out().contains("1: digest: sha256:"));
            docker("rmi", ref).ok();
        }
    }

    @Test
    void saveAndLoad() throws Exception {
        docker("tag", "busybox", "saved/bb:2").ok();
        Path tar = dir.resolve("saved.tar");
        docker("save", "-o", tar.toString(), "saved/bb:2").ok();
        assertTrue(Files.size(tar) > 100_000, "the archive holds busybox's layer");
        docker("rmi", "saved/bb:2").ok();
        Result load = docker("load", "-i", tar.toString()).ok();
        assertTrue(load.out().contains("Loaded image: saved/bb:2"), load.out());
        docker("rmi", "saved/bb:2").ok();
        Result missing = docker("save", "-o", dir.resolve("none.tar").toString(), "no/such:image").failed();
        assertTrue(missing.err().contains("No such image"), missing.err());
        Files.writeString(dir.resolve("junk.tar"), "this is not a tar archive");
        docker("load", "-i", dir.resolve("junk.tar").toString()).failed();
    }

    @Test
    void volumes() throws Exception {
        assertEquals("data1\n", docker("volume", "create", "--label", "team=core", "data1").ok().out());
        assertEquals("data1\n", docker("volume", "ls", "-q", "--filter", "label=team=core").ok().out());
        String mountpoint = docker("volume", "inspect", "--format", "{{.Mountpoint}}", "data1").ok().out().trim();
        assertTrue(Files.isDirectory(Path.of(mountpoint)), mountpoint);
        assertEquals("local core\n", docker("volume", "inspect", "--format", "{{.Driver}} {{index .Labels \"team\"}}", "data1").ok().out());
        docker("volume", "rm", "data1").ok();
        assertEquals("", docker("volume", "ls", "-q").ok().out());
        assertFalse(Files.exists(Path.of(mountpoint)));
        Result missing = docker("volume", "rm", "data1").failed();
        assertTrue(missing.err().contains("data1"), missing.err());
        docker("volume", "create", "--driver", "nfs-magic", "data2").failed();
        assertEquals("", docker("volume", "ls", "-q").ok().out());
    }

    @Test
    void systemDfAndEvents() throws Exception {
        long since = System.currentTimeMillis() / 1000 - 1;
        docker("volume", "create", "dfvol").ok();
        Result df = docker("system", "df").ok();
        assertTrue(df.out().contains("Images") && df.out().contains("Local Volumes"), df.out());
        assertTrue(docker("system", "df", "-v").ok().out().contains("dfvol"));
        docker("volume", "rm", "dfvol").ok();
        long until = System.currentTimeMillis() / 1000 + 1;
        Result events = docker("events", "--since", Long.toString(since), "--until", Long.toString(until),
                "--filter", "type=volume", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}").ok();
        assertTrue(events.out().contains("volume create dfvol") && events.out().contains("volume destroy dfvol"), events.out());
    }

    @Test
    void buildWithTheClassicBuilder() throws Exception {
        Assumptions.assumeTrue(System.getProperty("vessel.launcher") != null,
                "RUN steps need vessel-launch: run 'make build' and pass -Dvessel.launcher");
        Path ctx = Files.createDirectories(dir.resolve("ctx"));
        Files.writeString(ctx.resolve("Dockerfile"), """
                FROM busybox
                ARG MSG=unset
                COPY hello.txt /hello.txt
                RUN echo "run says $MSG" && cat /hello.txt
                LABEL stage=final
                """);
        Files.writeString(ctx.resolve("hello.txt"), "from the context\n");
        Result b = dockerIn(ctx, "build", "-t", "built:1", "--build-arg", "MSG=hi", "--label", "team=core", ".").ok();
        assertTrue(b.out().contains("run says hi"), b.out());
        assertTrue(b.out().contains("from the context"), b.out());
        assertTrue(b.out().contains("Successfully tagged built:1"), b.out());
        assertEquals("core final\n", docker("image", "inspect", "--format",
                "{{index .Config.Labels \"team\"}} {{index .Config.Labels \"stage\"}}", "built:1").ok().out());
        Result quiet = dockerIn(ctx, "build", "-q", ".").ok();
        assertTrue(quiet.out().trim().startsWith("sha256:"), quiet.out());
        Files.writeString(ctx.resolve("Broken"), "FROM busybox\nRUN exit 3\n");
        Result broken = dockerIn(ctx, "build", "-f", "Broken", ".").failed();
        assertTrue((broken.out() + broken.err()).contains("exit"), broken.out() + broken.err());
        docker("rmi", "built:1").ok();
    }

    @Test
    void oneDaemonPerRootAndACommandBesideIt() throws Exception {
        IOException twice = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> Daemon.start(engine, List.of(dir.resolve("run/other.sock")), false, System.err));
        assertTrue(twice.getMessage().contains("pid " + ProcessHandle.current().pid()), twice.getMessage());
        assertFalse(Files.exists(dir.resolve("run/other.sock")));
        // a vessel command on the same root, as the CLI opens it: what it does, the daemon serves
        Engine cli = Engine.open(engine.config());
        cli.images().tag("busybox", "from-cli/bb:3");
        assertTrue(docker("images", "--format", "{{.Repository}}:{{.Tag}}").ok().out().contains("from-cli/bb:3"));
        docker("rmi", "from-cli/bb:3").ok();
        assertThrows(io.vessel.image.store.ImageNotFoundException.class, () -> cli.images().store().resolve("from-cli/bb:3"));
    }

    @Test
    void imageEventsAreStreamedAsTheyHappen() throws Exception {
        try (RawClient c = new RawClient(socket)) {
            c.send("GET /v1.50/events?filters=%7B%22type%22%3A%7B%22image%22%3Atrue%7D%7D HTTP/1.1\r\nHost: d\r\n\r\n");
            // the head comes once the daemon listens for events: a tag before it would not be seen
            assertEquals(200, c.readHead().status());
            docker("tag", "busybox", "evented:1").ok();
            java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(c.input(),
                    java.nio.charset.StandardCharsets.UTF_8));
            String line;
            while ((line = r.readLine()) != null && !line.contains("\"Action\":\"tag\"")) {
                // chunk sizes
            }
            assertTrue(line != null && line.contains("evented:1"), "a tag event: " + line);
        }
        docker("rmi", "evented:1").ok();
        docker("version").ok(); // the event stream's connection went away without harm
    }

    @Test
    void hostileRequestsGetDockerErrorsAndChangeNothing() throws Exception {
        String volumes = docker("volume", "ls", "-q").ok().out();
        RawClient.Response badJson = post("/v1.50/volumes/create", "{\"Name\": \"x\",");
        assertEquals(400, badJson.status());
        assertTrue(message(badJson).contains("invalid JSON"), badJson.body());
        RawClient.Response unknown = post("/volumes/create", "{\"Name\": \"x\", \"Colour\": \"blue\"}");
        assertEquals(400, unknown.status());
        assertTrue(message(unknown).contains("Colour"), unknown.body());
        RawClient.Response traversal = post("/volumes/create", "{\"Name\": \"../../etc\"}");
        assertEquals(400, traversal.status(), traversal.body());
        RawClient.Response wrongType = post("/volumes/create", "{\"Name\": \"x\", \"Labels\": [1]}");
        assertEquals(400, wrongType.status(), wrongType.body());
        RawClient.Response oversized = RawClient.exchange(socket, "POST /volumes/create HTTP/1.1\r\nHost: d\r\n"
                + "Content-Type: application/json\r\nContent-Length: 900000000\r\n\r\n{");
        assertEquals(413, oversized.status());
        assertTrue(message(oversized).contains("exceeds"), oversized.body());
        assertEquals(volumes, docker("volume", "ls", "-q").ok().out(), "no volume was made");

        String images = docker("images", "-q", "--no-trunc").ok().out();
        RawClient.Response rmTraversal = RawClient.exchange(socket, "DELETE /images/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: d\r\n\r\n");
        assertTrue(rmTraversal.status() == 400 || rmTraversal.status() == 404, rmTraversal.body());
        RawClient.Response tagTraversal = RawClient.exchange(socket, "POST /images/busybox/tag?repo=../evil&tag=1 HTTP/1.1\r\nHost: d\r\n\r\n");
        assertEquals(400, tagTraversal.status(), tagTraversal.body());
        RawClient.Response volTraversal = RawClient.exchange(socket, "GET /volumes/..%2F..%2Fetc HTTP/1.1\r\nHost: d\r\n\r\n");
        assertTrue(volTraversal.status() == 400 || volTraversal.status() == 404, volTraversal.body());
        RawClient.Response buildTraversal = RawClient.exchange(socket, "POST /build?dockerfile=../../../etc/passwd HTTP/1.1\r\nHost: d\r\n"
                + "Content-Length: 1024\r\n\r\n" + "\0".repeat(1024));
        assertEquals(400, buildTraversal.status(), buildTraversal.body());
        assertEquals(images, docker("images", "-q", "--no-trunc").ok().out(), "no image changed");

        RawClient.Response old = RawClient.exchange(socket, "GET /v1.12/version HTTP/1.1\r\nHost: d\r\n\r\n");
        assertEquals(400, old.status());
        assertEquals("client version 1.12 is too old. Minimum supported API version is 1.41, please upgrade your client to a newer version",
                message(old));
        RawClient.Response future = RawClient.exchange(socket, "GET /v1.99/_ping HTTP/1.1\r\nHost: d\r\n\r\n");
        assertEquals(400, future.status());
        assertTrue(message(future).contains("too new"), future.body());
        assertEquals(400, RawClient.exchange(socket, "GET /images/json?filters=%7Bnope HTTP/1.1\r\nHost: d\r\n\r\n").status());
        assertEquals(404, RawClient.exchange(socket, "GET /v1.50/no/such/endpoint HTTP/1.1\r\nHost: d\r\n\r\n").status());

        RawClient.Response ping = RawClient.exchange(socket, "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n");
        assertEquals("OK", ping.body());
        assertEquals("1.50", ping.header("Api-Version"));
        docker("version").ok(); // still serving
    }

    private RawClient.Response post(String path, String json) throws IOException {
        return RawClient.exchange(socket, "POST " + path + " HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + json.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + "\r\n\r\n" + json);
    }

    private static String message(RawClient.Response r) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) Json.parse(r.body());
        return (String) m.get("message");
    }
}
