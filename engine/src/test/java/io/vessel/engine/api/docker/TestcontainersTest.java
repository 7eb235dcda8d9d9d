package io.vessel.engine.api.docker;

import io.vessel.engine.network.NetworksConfig;
import io.vessel.linux.RtNetlink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import com.github.dockerjava.api.model.HealthCheck;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.output.ToStringConsumer;
import org.testcontainers.containers.output.WaitingConsumer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Testcontainers for Java, unmodified, against a Vessel daemon: the engine module's surefire
 * configuration points {@code DOCKER_HOST} at a socket this class serves (Testcontainers reads it
 * from the environment only) and disables Ryuk, whose image is on Docker Hub; the image is pulled
 * by Testcontainers from a local registry; every test removes what it made and the last one checks
 * that no container, namespace or veth is left.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class TestcontainersTest {
    private TestDaemon d;
    private TestRegistry registry;
    private NetworksConfig netConfig;
    private DockerImageName busybox;

    @BeforeAll
    void start() throws Exception {
        String host = System.getenv("DOCKER_HOST");
        Assumptions.assumeTrue(host != null && host.startsWith("unix://"),
                "DOCKER_HOST=unix://... comes from the engine module's surefire configuration; run this through Maven");
        Assumptions.assumeTrue("true".equals(System.getenv("TESTCONTAINERS_RYUK_DISABLED")),
                "Ryuk's image is not reachable offline: TESTCONTAINERS_RYUK_DISABLED=true must be set (surefire does)");
        Assumptions.assumeTrue(Files.isExecutable(TestRegistry.BINARY), "no docker-registry (Debian's docker-registry package)");
        Path socket = Path.of(host.substring("unix://".length()));
        Files.createDirectories(socket.getParent());
        Files.deleteIfExists(socket); // a previous run's, killed before it could clean up
        String tag = HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
        d = TestDaemon.start("vessel-tc-", dir -> netConfig = new NetworksConfig(dir.resolve("root/networks"),
                dir.resolve("run/netns"), "vt" + tag, "vessel_t" + tag, null), true, socket);
        registry = TestRegistry.start(d.dir.resolve("registry"));
        // The image Testcontainers pulls: Vessel's busybox pushed to the local registry, its local name removed.
        String ref = registry.host() + "/library/busybox:1.0";
        d.docker("tag", "busybox", ref).ok();
        d.docker("push", ref).ok();
        d.docker("rmi", ref).ok();
        busybox = DockerImageName.parse(ref);
    }

    @AfterEach
    void nothingLeft() throws Exception {
        if (d == null) {
            return;
        }
        assertEquals("", d.docker("ps", "-aq").ok().out(), "every container was removed");
        try (var s = Files.list(netConfig.netnsDir())) {
            assertEquals(List.of(), s.toList(), "no pinned network namespace is left");
        }
        Path ports = Path.of("/sys/class/net", netConfig.defaultBridge(), "brif");
        if (Files.isDirectory(ports)) {
            try (var s = Files.list(ports)) {
                assertEquals(List.of(), s.toList(), "no veth is left on the bridge");
            }
        }
        assertEquals(List.of("bridge", "host", "none"), d.docker("network", "ls", "--format", "{{.Name}}").ok().out()
                .lines().sorted().toList(), "Testcontainers' networks were removed");
        Process nft = new ProcessBuilder("nft", "list", "table", "ip", netConfig.nftTable()).redirectErrorStream(true).start();
        String rules = new String(nft.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        nft.waitFor();
        assertFalse(rules.contains("dnat"), "no published port is left: " + rules);
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (registry != null) {
                registry.close();
            }
        } finally {
            if (d != null) {
                try {
                    d.stopDaemon();
                    try (RtNetlink rt = RtNetlink.open()) {
                        assertTrue(rt.link(netConfig.defaultBridge()).isEmpty(), "the bridge is gone");
                    }
                } finally {
                    d.close();
                }
            }
        }
    }

    @Test
    void connectsAndAcceptsTheDaemon() {
        var client = DockerClientFactory.instance().client();
        assertTrue(DockerClientFactory.instance().isDockerAvailable());
        assertEquals(d.dir.resolve("root").toString(), client.infoCmd().exec().getDockerRootDir());
    }

    @Test
    void commandEnvLabelsLogsAndExec() throws Exception {
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withEnv("GREETING", "hello there")
                .withLabel("team", "vessel")
                .withCommand("sh", "-c", "echo starting; echo \"$GREETING\" >&2; sleep 1; echo ready; exec sleep 1000")
                .waitingFor(Wait.forLogMessage(".*ready.*\\n", 1).withStartupTimeout(Duration.ofSeconds(60)))) {
            c.start();
            assertTrue(c.isRunning());
            String id = c.getContainerId();
            var inspect = c.getContainerInfo();
            assertTrue(List.of(inspect.getConfig().getEnv()).contains("GREETING=hello there"));
            assertEquals("vessel", inspect.getConfig().getLabels().get("team"));
            assertEquals("true", inspect.getConfig().getLabels().get("org.testcontainers"));

            String logs = c.getLogs();
            assertTrue(logs.contains("starting\n") && logs.contains("ready\n") && logs.contains("hello there\n"), logs);
            assertEquals("starting\nready\n", c.getLogs(OutputFrame.OutputType.STDOUT));
            assertEquals("hello there\n", c.getLogs(OutputFrame.OutputType.STDERR));

            ExecResult r = c.execInContainer("sh", "-c", "echo \"out $GREETING\"; echo err >&2; exit 3");
            assertEquals("out hello there\n", r.getStdout());
            assertEquals("err\n", r.getStderr());
            assertEquals(3, r.getExitCode());
            assertEquals(0, c.execInContainer("true").getExitCode());

            c.stop();
            assertFalse(d.docker("ps", "-aq", "--no-trunc").ok().out().contains(id), "stop removed the container");
        }
    }

    @Test
    void exposedPortWithAServerInside() throws Exception {
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withCommand("nc", "-ll", "-p", "7000", "-e", "cat")
                .withExposedPorts(7000)
                .waitingFor(Wait.forListeningPort().withStartupTimeout(Duration.ofSeconds(60)))) {
            c.start();
            int port = c.getMappedPort(7000);
            // getHost() is the bridge's gateway here (Testcontainers sees /.dockerenv), localhost elsewhere: both work
            for (String host : List.of(c.getHost(), "127.0.0.1")) {
                try (Socket s = new Socket(host, port)) {
                    s.setSoTimeout(10_000);
                    OutputStream out = s.getOutputStream();
                    out.write(("ping through vessel via " + host + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                    assertEquals("ping through vessel via " + host, in.readLine());
                }
            }
        }
    }

    @Test
    void httpWaitStrategy() throws Exception {
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withCommand("sh", "-c", "mkdir -p /www && echo served > /www/index.html && exec httpd -f -p 8080 -h /www")
                .withExposedPorts(8080)
                .waitingFor(Wait.forHttp("/index.html").forStatusCode(200).withStartupTimeout(Duration.ofSeconds(60)))) {
            c.start();
            var url = java.net.URI.create("http://" + c.getHost() + ":" + c.getMappedPort(8080) + "/index.html").toURL();
            try (var in = url.openStream()) {
                assertEquals("served\n", new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void copyFilesInAndOut() throws Exception {
        byte[] data = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withCopyToContainer(Transferable.of("before start\n"), "/etc/app/config.txt")
                .withCommand("sh", "-c", "cat /etc/app/config.txt; echo ready; exec sleep 1000")
                .waitingFor(Wait.forLogMessage("ready\\n", 1).withStartupTimeout(Duration.ofSeconds(60)))) {
            c.start();
            assertTrue(c.getLogs().startsWith("before start\n"), c.getLogs());
            c.copyFileToContainer(Transferable.of(data, 0640), "/data/in/file.txt");
            ExecResult ls = c.execInContainer("sh", "-c", "cat /data/in/file.txt; stat -c %a /data/in/file.txt");
            assertEquals("line one\nline two\n640\n", ls.getStdout(), ls.getStderr());

            c.execInContainer("sh", "-c", "echo made inside > /tmp/out.txt");
            byte[] back = c.copyFileFromContainer("/tmp/out.txt", in -> in.readAllBytes());
            assertEquals("made inside\n", new String(back, StandardCharsets.UTF_8));
            assertArrayEquals(data, c.copyFileFromContainer("/data/in/file.txt", in -> in.readAllBytes()));
        }
    }

    @Test
    void oneShotContainerAndFollowedOutput() throws Exception {
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withCommand("sh", "-c", "echo one; echo two >&2; exit 0")
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofSeconds(60)))) {
            c.start();
            assertEquals(0L, c.getCurrentContainerInfo().getState().getExitCodeLong());
            assertEquals("one\n", c.getLogs(OutputFrame.OutputType.STDOUT));
        }
        WaitingConsumer waiting = new WaitingConsumer();
        ToStringConsumer seen = new ToStringConsumer();
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withCommand("sh", "-c", "i=0; while [ $i -lt 3 ]; do echo tick $i; i=$((i+1)); sleep 0.2; done; exec sleep 1000")
                .withLogConsumer(seen.andThen(waiting))) { // seen first: the wait ends once waiting has a frame
            c.start();
            waiting.waitUntil(f -> f.getUtf8String().contains("tick 2"), 30, TimeUnit.SECONDS);
            assertTrue(seen.toUtf8String().contains("tick 0\ntick 1\ntick 2\n"), seen.toUtf8String());
        }
    }

    @Test
    void bindsTmpfsWorkingDirectoryAndHostDirectoryCopies() throws Exception {
        Path shared = Files.createDirectories(d.dir.resolve("shared"));
        Files.writeString(shared.resolve("from-host.txt"), "host side\n");
        Path tree = Files.createDirectories(d.dir.resolve("tree/nested"));
        Files.writeString(tree.resolve("leaf.txt"), "leaf\n");
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withFileSystemBind(shared.toString(), "/shared", BindMode.READ_WRITE)
                .withTmpFs(java.util.Map.of("/scratch", "rw,size=1m"))
                .withWorkingDirectory("/shared")
                .withCopyFileToContainer(MountableFile.forHostPath(d.dir.resolve("tree")), "/copied")
                .withCommand("sleep", "1000")) {
            c.start();
            ExecResult r = c.execInContainer("sh", "-c",
                    "pwd; cat from-host.txt; cat /copied/nested/leaf.txt; echo back > /shared/from-container.txt; "
                            + "grep ' /scratch ' /proc/mounts | cut -d' ' -f3");
            assertEquals("/shared\nhost side\nleaf\ntmpfs\n", r.getStdout(), r.getStderr());
            assertEquals("back\n", Files.readString(shared.resolve("from-container.txt")));
            // what is copied out of a bind mount is the container's view of it
            assertEquals("host side\n", c.copyFileFromContainer("/shared/from-host.txt",
                    in -> new String(in.readAllBytes(), StandardCharsets.UTF_8)));
        }
    }

    @Test
    void imageFromDockerfile() throws Exception {
        String tag = "vessel-tc/built:" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
        ImageFromDockerfile image = new ImageFromDockerfile(tag, false)
                .withFileFromTransferable("greeting.txt", Transferable.of("built by vessel\n"))
                .withDockerfileFromBuilder(b -> b.from(busybox.asCanonicalNameString())
                        .copy("greeting.txt", "/greeting.txt")
                        .run("echo \"ran at build\" >> /greeting.txt")
                        .cmd("cat", "/greeting.txt")
                        .build());
        try (GenericContainer<?> c = new GenericContainer<>(image)
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofSeconds(60)))) {
            c.start();
            assertEquals("built by vessel\nran at build\n", c.getLogs());
        } finally {
            d.docker("rmi", tag).ok();
        }
    }

    @Test
    void healthcheckWaitStrategy() throws Exception {
        long millis = 1_000_000L;
        try (GenericContainer<?> c = new GenericContainer<>(busybox)
                .withCommand("sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 1000")
                .withCreateContainerCmdModifier(cmd -> cmd.withHealthcheck(new HealthCheck()
                        .withTest(List.of("CMD-SHELL", "test -f /tmp/ready")).withInterval(200 * millis)
                        .withTimeout(2000 * millis).withRetries(50)))
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofSeconds(60)))) {
            c.start();
            assertEquals("healthy", c.getCurrentContainerInfo().getState().getHealth().getStatus());
            assertTrue(c.isHealthy());
        }
    }

    @Test
    void twoContainersOnANetworkByAlias() throws Exception {
        try (Network net = Network.newNetwork();
             GenericContainer<?> server = new GenericContainer<>(busybox)
                     .withNetwork(net).withNetworkAliases("echo-server")
                     .withCommand("nc", "-ll", "-p", "7000", "-e", "cat");
             GenericContainer<?> client = new GenericContainer<>(busybox)
                     .withNetwork(net)
                     .withCommand("sleep", "1000")) {
            server.start();
            client.start();
            ExecResult r = null;
            for (int i = 0; i < 50; i++) {
                r = client.execInContainer("sh", "-c", "echo over the network | nc -w 2 echo-server 7000");
                if (r.getStdout().equals("over the network\n")) {
                    break;
                }
                Thread.sleep(100); // the server may not listen yet
            }
            assertEquals("over the network\n", r.getStdout(), r.getStderr());
        }
    }
}
