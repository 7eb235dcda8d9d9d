package io.vessel.engine;

import io.vessel.engine.build.BuildException;
import io.vessel.engine.build.BuildOutput;
import io.vessel.engine.build.BuildRequest;
import io.vessel.engine.build.BuildResult;
import io.vessel.engine.container.RunOptions;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.registry.ProgressListener;
import io.vessel.image.store.ImageNotFoundException;
import io.vessel.image.store.ImageStore.Image;
import io.vessel.linux.Fd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real builds through the engine: RUN steps in real containers of the runtime on kernel overlayfs,
 * over the built-in busybox image, in a temporary root.
 */
class BuildsTest {
    static Path root;
    static Engine engine;
    static Path runLog;

    @BeforeAll
    static void open() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "builds run containers, which needs root; running as " + System.getProperty("user.name"));
        String launcher = System.getProperty("vessel.launcher");
        Assumptions.assumeTrue(launcher != null && Files.isExecutable(Path.of(launcher)),
                "no vessel-launch: run 'make build' and pass -Dvessel.launcher (see the Makefile's test target)");
        root = Files.createTempDirectory("vessel-builds-");
        engine = Engine.open(new EngineConfig(root.resolve("root"), root.resolve("run"), root.resolve("creds.json"),
                List.of()));
        runLog = root.resolve("run.log");
    }

    @AfterAll
    static void close() throws Exception {
        if (root == null) {
            return;
        }
        engine.networks().dismantle(); // the default bridge and nftables table the run made for this root
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            if (line.contains(root.toString())) {
                io.vessel.linux.Mount.umount(line.split(" ")[4], io.vessel.linux.Mount.MNT_DETACH);
            }
        }
        try (var s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @AfterEach
    void nothingLeft() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            assertFalse(line.contains(root.toString()), "mount left behind: " + line);
        }
        Path build = engine.config().root().resolve("build");
        if (Files.exists(build)) {
            try (var s = Files.list(build)) {
                assertEquals(List.of(), s.toList(), "build work directories left behind");
            }
        }
        Path rt = engine.config().runtimeRoot();
        if (Files.exists(rt)) {
            try (var s = Files.list(rt)) {
                assertEquals(List.of(), s.filter(Files::isDirectory).toList(), "runtime state left behind");
            }
        }
    }

    /** Collects the lines; RUN output goes to run.log. */
    static final class Lines implements BuildOutput {
        final List<String> lines = new ArrayList<>();
        final Fd log;

        Lines() throws Exception {
            log = io.vessel.linux.Files.open(runLog.toString(), io.vessel.linux.Files.O_WRONLY
                    | io.vessel.linux.Files.O_CREAT | io.vessel.linux.Files.O_APPEND | io.vessel.linux.Files.O_CLOEXEC, 0644);
        }

        @Override
        public void line(String line) {
            lines.add(line);
        }

        @Override
        public int stdoutFd() {
            return log.num();
        }

        @Override
        public int stderrFd() {
            return log.num();
        }

        long cacheHits() {
            return lines.stream().filter(" ---> Using cache"::equals).count();
        }

        /** For each "Step" line (FROM excluded), whether the cache served it. */
        List<Boolean> cachedSteps() {
            List<Boolean> out = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).startsWith("Step ") && !lines.get(i).contains(" : FROM ")) {
                    out.add(i + 1 < lines.size() && lines.get(i + 1).equals(" ---> Using cache"));
                }
            }
            return out;
        }
    }

    static BuildResult build(BuildRequest r, Lines out) throws Exception {
        try {
            return engine.builds().build(r, out);
        } finally {
            out.log.close();
        }
    }

    static Path context(String name, String dockerfile, Map<String, String> files) throws Exception {
        Path c = root.resolve(name);
        Files.createDirectories(c);
        Files.writeString(c.resolve("Dockerfile"), dockerfile);
        for (var e : files.entrySet()) {
            Path p = c.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, e.getValue());
        }
        return c;
    }

    static final String EVERYTHING = """
            ARG BASE=busybox
            FROM ${BASE} AS builder
            ARG GREETING=hello
            RUN echo "$GREETING from builder" > /built.txt

            FROM $BASE
            ARG VERSION=1.0
            LABEL org.example.version=$VERSION org.example.name="the app"
            ENV APP_HOME=/app PATH=/app/bin:$PATH
            RUN echo 'appuser:x:1234:1234::/app:/bin/sh' >> /etc/passwd && echo 'appgrp:x:4321:' >> /etc/group
            WORKDIR $APP_HOME
            COPY --chown=appuser:appgrp app/ ./
            COPY --chmod=755 run.sh /usr/local/bin/run.sh
            ADD files.tar.gz /opt/
            COPY --from=builder /built.txt ./built.txt
            RUN ["/bin/sh", "-c", "echo exec-form > /app/exec.txt"]
            SHELL ["/bin/sh", "-ec"]
            RUN echo "version=$VERSION home=$APP_HOME pwd=$(pwd)" > /app/run.txt
            EXPOSE 8080 53/udp
            VOLUME /data
            STOPSIGNAL SIGQUIT
            HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q localhost || exit 1
            ONBUILD RUN echo triggered > /onbuild.txt
            USER appuser
            RUN id -u > /tmp/uid.txt
            MAINTAINER someone
            ENTRYPOINT ["/bin/sh", "-c"]
            CMD ["cat /app/greeting.txt"]
            """;

    static Path everythingContext() throws Exception {
        Path c = context("everything", EVERYTHING, Map.of("app/greeting.txt", "hi there\n", "app/sub/x.txt", "x\n",
                "app/secret.txt", "do not copy\n", "app/debug.log", "noise\n", "run.sh", "#!/bin/sh\necho run\n",
                ".dockerignore", "app/secret.txt\n**/*.log\n", "files/a.txt", "from the tar\n"));
        Files.setPosixFilePermissions(c.resolve("run.sh"), PosixFilePermissions.fromString("rw-r--r--"));
        Process tar = new ProcessBuilder("tar", "czf", "files.tar.gz", "files").directory(c.toFile())
                .redirectErrorStream(true).start();
        assertEquals(0, tar.waitFor(), new String(tar.getInputStream().readAllBytes()));
        return c;
    }

    @Test
    void everyInstructionThenCachedThenChangedThenNoCache() throws Exception {
        Path c = everythingContext();
        Lines out = new Lines();
        BuildResult r = build(BuildRequest.of(c, "everything-app"), out);
        String all = String.join("\n", out.lines);
        assertEquals(0, r.cached(), all);
        assertTrue(out.lines.contains("Step 1/26 : FROM ${BASE} AS builder"), all);
        assertTrue(out.lines.contains("Successfully built " + r.imageId().hex().substring(0, 12)), all);
        assertTrue(out.lines.contains("Successfully tagged everything-app:latest"), all);

        Image image = engine.images().find("everything-app", false, ProgressListener.NONE);
        assertEquals(r.imageId(), image.id());
        ImageConfig.Config cfg = image.config().config();
        assertEquals("appuser", cfg.user());
        assertTrue(cfg.env().contains("APP_HOME=/app"), cfg.env().toString());
        assertTrue(cfg.env().contains("PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                cfg.env().toString());
        assertEquals(Map.of("org.example.version", "1.0", "org.example.name", "the app"), cfg.labels());
        assertEquals("/app", cfg.workingDir());
        assertEquals(Set.of("8080/tcp", "53/udp"), cfg.exposedPorts());
        assertEquals(Set.of("/data"), cfg.volumes());
        assertEquals("SIGQUIT", cfg.stopSignal());
        assertEquals(List.of("/bin/sh", "-ec"), cfg.shell());
        assertEquals(new ImageConfig.Healthcheck(List.of("CMD-SHELL", "wget -q localhost || exit 1"), 30_000_000_000L,
                5_000_000_000L, null, null, 3), cfg.healthcheck());
        assertEquals(List.of("RUN echo triggered > /onbuild.txt"), cfg.onBuild());
        assertEquals(List.of("/bin/sh", "-c"), cfg.entrypoint());
        assertEquals(List.of("cat /app/greeting.txt"), cfg.cmd());
        assertEquals("someone", image.config().author());
        Image busybox = engine.images().find("busybox", false, ProgressListener.NONE);
        assertEquals(busybox.config().rootfs().diffIds().size() + 8, image.config().rootfs().diffIds().size(),
                "one layer per RUN, COPY and ADD");
        List<ImageConfig.History> h = image.config().history();
        assertEquals(busybox.config().history().size() + 22, h.size(), "one entry per step of the stage");
        assertTrue(h.stream().anyMatch(e -> e.createdBy().equals(
                "RUN /bin/sh -ec echo \"version=$VERSION home=$APP_HOME pwd=$(pwd)\" > /app/run.txt") && !e.emptyLayer()),
                h.toString());
        assertTrue(h.stream().anyMatch(e -> e.createdBy().equals("/bin/sh -c #(nop)  ENV APP_HOME=/app "
                + "PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") && e.emptyLayer()), h.toString());
        assertTrue(h.stream().anyMatch(e -> e.createdBy().contains("#(nop)  EXPOSE 8080/tcp 53/udp") && e.emptyLayer()),
                h.toString());
        assertEquals(Engine.BUILD_STEP_ANNOTATION, image.manifest().annotations().keySet().iterator().next());

        // run the image: the files and the effects of RUN
        Path outDir = root.resolve("out");
        Files.createDirectories(outDir);
        String script = "cd /app && cat greeting.txt built.txt exec.txt run.txt /opt/files/a.txt /tmp/uid.txt > /out/r"
                + " && stat -c '%u:%g %a %n' greeting.txt sub/x.txt /usr/local/bin/run.sh >> /out/r"
                + " && ls /app >> /out/r && id -u >> /out/r";
        int status = engine.containers().run(new Containers.RunRequest("everything-app", null, RunOptions.builder()
                .cmd(List.of(script)).volume(outDir + ":/out").user("0").build(), true, false), ProgressListener.NONE, null);
        assertEquals(0, status, Files.exists(outDir.resolve("r")) ? Files.readString(outDir.resolve("r")) : "no output");
        assertEquals("""
                hi there
                hello from builder
                exec-form
                version=1.0 home=/app pwd=/app
                from the tar
                1234
                1234:4321 644 greeting.txt
                1234:4321 644 sub/x.txt
                0:0 755 /usr/local/bin/run.sh
                built.txt
                exec.txt
                greeting.txt
                run.txt
                sub
                0
                """, Files.readString(outDir.resolve("r")), "secret.txt and debug.log are ignored");

        // 2: all from cache, same ID, no container
        deleteTree(engine.config().runtimeRoot());
        deleteTree(engine.config().root().resolve("build"));
        long t0 = System.nanoTime();
        Lines again = new Lines();
        BuildResult r2 = build(BuildRequest.of(c, "everything-app"), again);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(r.imageId(), r2.imageId(), String.join("\n", again.lines));
        assertEquals(24, again.cacheHits(), String.join("\n", again.lines));
        assertEquals(24, r2.cached());
        assertFalse(Files.exists(engine.config().runtimeRoot()), "a cached build starts no container");
        assertFalse(Files.exists(engine.config().root().resolve("build")), "a cached build mounts nothing");
        assertTrue(ms < 5000, "a cached build took " + ms + " ms");

        // 3: a changed context file re-runs its COPY and every later step
        Files.writeString(c.resolve("app/greeting.txt"), "changed\n");
        Lines changed = new Lines();
        BuildResult r3 = build(BuildRequest.of(c, "everything-app"), changed);
        assertNotEquals(r.imageId(), r3.imageId());
        List<Boolean> cached = changed.cachedSteps();
        // builder stage: ARG, RUN; final stage: ARG LABEL ENV RUN WORKDIR | COPY app/ ...
        assertEquals(List.of(true, true, true, true, true, true, true), cached.subList(0, 7), String.join("\n", changed.lines));
        assertTrue(cached.subList(7, cached.size()).stream().noneMatch(b -> b), String.join("\n", changed.lines));

        // 4: --no-cache runs everything again
        Lines none = new Lines();
        BuildResult r4 = build(BuildRequest.of(c, "everything-app").withNoCache(true), none);
        assertEquals(0, none.cacheHits(), String.join("\n", none.lines));
        assertEquals(0, r4.cached());
        assertNotEquals(r3.imageId(), r4.imageId(), "new layers and times make a new image");
    }

    @Test
    void addedTarsWhiteoutNamesAreOrdinaryFiles() throws Exception {
        // ADD unpacks a tar as files, as docker does: .wh.NAME is a file of that name, not a layer's whiteout
        Path c = context("whiteout-names", """
                FROM busybox
                RUN mkdir /t && echo kept > /t/keep
                ADD wh.tar /t/
                RUN test "$(cat /t/keep /t/.wh.keep)" = "$(printf 'kept\\na file called .wh.keep')"
                """, Map.of("whsrc/.wh.keep", "a file called .wh.keep\n"));
        Process tar = new ProcessBuilder("tar", "cf", "wh.tar", "-C", "whsrc", ".wh.keep").directory(c.toFile())
                .redirectErrorStream(true).start();
        assertEquals(0, tar.waitFor(), new String(tar.getInputStream().readAllBytes()));
        Lines out = new Lines();
        build(BuildRequest.of(c, "whiteout-names:test"), out);
        assertTrue(out.lines.contains("Successfully tagged whiteout-names:test"), String.join("\n", out.lines));
    }

    @Test
    void buildArgChangesTheRunThatUsesIt() throws Exception {
        Path c = context("args", """
                FROM busybox
                RUN echo before > /before
                ARG WHO=world
                ENV FIXED=1
                RUN echo "hello $WHO" > /hello
                CMD ["cat", "/hello"]
                """, Map.of());
        BuildResult a = build(BuildRequest.of(c, "args:a"), new Lines());
        Lines again = new Lines();
        BuildResult b = build(BuildRequest.of(c, "args:b").withBuildArgs(Map.of("WHO", "vessel")), again);
        assertNotEquals(a.imageId(), b.imageId());
        assertEquals(List.of(true, true, true, false, false), again.cachedSteps(), String.join("\n", again.lines));
        Lines same = new Lines();
        BuildResult c2 = build(BuildRequest.of(c, "args:c").withBuildArgs(Map.of("WHO", "vessel")), same);
        assertEquals(b.imageId(), c2.imageId());
        assertEquals(5, same.cacheHits());
        assertTrue(same.lines.contains("Successfully tagged args:c"), same.lines.toString());
    }

    @Test
    void failingRunNamesTheLineAndLeavesNothing() throws Exception {
        Path c = context("fail", """
                FROM busybox
                RUN echo ok > /ok
                RUN echo failing && exit 3
                RUN echo never
                """, Map.of());
        BuildException e = assertThrows(BuildException.class, () -> build(BuildRequest.of(c, "failing"), new Lines()));
        assertEquals("Dockerfile:3: RUN /bin/sh -c echo failing && exit 3 returned a non-zero code: 3", e.getMessage());
        assertEquals(3, e.line());
        assertThrows(ImageNotFoundException.class, () -> engine.images().find("failing", false, ProgressListener.NONE));
        // nothingLeft() checks mounts, work directories and runtime state
    }

    @Test
    void ignoredSourceAndUnknownBaseNameTheLine() throws Exception {
        Path c = context("ignored", """
                FROM busybox
                COPY secret.txt /
                """, Map.of("secret.txt", "s\n", ".dockerignore", "secret.txt\n"));
        Exception e = assertThrows(Exception.class, () -> build(BuildRequest.of(c), new Lines()));
        assertTrue(e.getMessage().startsWith("Dockerfile:2: "), e.getMessage());
        assertTrue(e.getMessage().contains("excluded by .dockerignore"), e.getMessage());

        Path d = context("unknown", """
                FROM busybox

                FROM localhost:1/no/such-image:1
                RUN true
                """, Map.of());
        BuildException u = assertThrows(BuildException.class, () -> build(BuildRequest.of(d), new Lines()));
        assertTrue(u.getMessage().startsWith("Dockerfile:3: FROM localhost:1/no/such-image:1: "), u.getMessage());
    }

    @Test
    void onbuildTriggersRunInTheChildAndQuietPrintsOnlyTheId() throws Exception {
        Path c = context("parent", """
                FROM busybox
                ONBUILD RUN echo triggered > /onbuild.txt
                """, Map.of());
        build(BuildRequest.of(c, "onbuild-parent"), new Lines());
        Path d = context("child", """
                FROM onbuild-parent
                RUN cat /onbuild.txt > /copied.txt
                """, Map.of());
        Lines q = new Lines();
        BuildResult r = build(BuildRequest.of(d, "onbuild-child").withQuiet(true), q);
        assertEquals(List.of(r.imageId().toString()), q.lines);
        Image child = engine.images().find("onbuild-child", false, ProgressListener.NONE);
        assertEquals(List.of(), child.config().config().onBuild(), "triggers do not pass to grandchildren");
        Path multi = context("target", """
                FROM busybox AS one
                RUN echo one > /one
                FROM busybox AS two
                RUN echo two > /two
                FROM one
                COPY --from=two /two /two
                """, Map.of());
        Lines t = new Lines();
        BuildResult only = build(BuildRequest.of(multi).withTarget("one"), t);
        assertFalse(String.join("\n", t.lines).contains("echo two"), "--target one skips stage two: " + t.lines);
        assertEquals(only.imageId(), build(BuildRequest.of(multi).withTarget("0"), new Lines()).imageId());
    }

    static void deleteTree(Path p) throws Exception {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
