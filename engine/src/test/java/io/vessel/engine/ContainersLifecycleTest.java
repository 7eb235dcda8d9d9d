package io.vessel.engine;

import io.vessel.engine.container.JsonFileLog;
import io.vessel.engine.container.Monitor;
import io.vessel.engine.container.RunOptions;
import io.vessel.image.registry.ProgressListener;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The container lifecycle through the engine with the real runtime, real monitors and the built-in
 * busybox image, in a temporary root: logs, stop, wait, attach, exec, --rm, restart policies, and
 * recovery after the engine's JVM is killed with SIGKILL.
 */
@Timeout(90)
class ContainersLifecycleTest {
    static Path root;
    static Engine engine;
    static Containers containers;
    static final List<Containers.Event> events = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void open() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "containers need root (namespaces, cgroups, mounts); running as " + System.getProperty("user.name"));
        String launcher = System.getProperty("vessel.launcher");
        Assumptions.assumeTrue(launcher != null && Files.isExecutable(Path.of(launcher))
                        && Files.isExecutable(Path.of(launcher).resolveSibling("vessel-monitor")),
                "no vessel-launch/vessel-monitor: run 'make build' and pass -Dvessel.launcher (see the Makefile)");
        root = Files.createTempDirectory("vessel-life-");
        engine = Engine.open(config());
        containers = engine.containers();
        containers.subscribe(events::add);
    }

    static EngineConfig config() {
        return new EngineConfig(root.resolve("root"), root.resolve("run"), root.resolve("creds.json"), List.of());
    }

    @AfterAll
    static void close() throws Exception {
        if (root == null) {
            return;
        }
        try {
            for (Containers.Info i : containers.list()) {
                containers.remove(i.id(), true, true);
            }
            assertNoLeftovers();
        } finally {
            try (var s = Files.walk(root)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @AfterEach
    void removeAll() throws Exception {
        for (Containers.Info i : containers.list()) {
            containers.remove(i.id(), true, true);
        }
        assertNoLeftovers();
    }

    /** No mounts, monitors, cgroups, runtime state or sockets of this test's containers are left. */
    static void assertNoLeftovers() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            assertFalse(line.contains(root.toString()), "mount left behind: " + line);
        }
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                String cmd;
                try {
                    cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                } catch (IOException gone) {
                    continue;
                }
                assertFalse(cmd.startsWith("vessel-monitor") && cmd.contains(root.toString()),
                        "monitor left running: pid " + p.getFileName() + " " + cmd.replace('\0', ' '));
            }
        }
        Path runtime = engine.config().runtimeRoot();
        if (Files.isDirectory(runtime)) {
            try (var s = Files.list(runtime)) {
                assertEquals(List.of(), s.filter(Files::isDirectory).toList(), "runtime state left behind");
            }
        }
        Path m = engine.config().runDir().resolve("m");
        if (Files.isDirectory(m)) {
            try (var s = Files.list(m)) {
                assertEquals(List.of(), s.toList(), "monitor socket directories left behind");
            }
        }
        try (var hierarchies = Files.list(Path.of("/sys/fs/cgroup"))) {
            for (Path h : hierarchies.toList()) {
                Path vessel = h.resolve("vessel");
                if (Files.isDirectory(vessel)) {
                    try (var s = Files.list(vessel)) {
                        for (Path cg : s.toList()) {
                            assertFalse(seenIds.contains(cg.getFileName().toString()), "cgroup left behind: " + cg);
                        }
                    }
                }
            }
        }
    }

    /** Every container this test made, for the cgroup check. */
    static final List<String> seenIds = new CopyOnWriteArrayList<>();

    static String create(Containers.Lifecycle life, boolean tty, String... cmd) throws IOException {
        RunOptions o = RunOptions.builder().cmd(cmd).tty(tty).network("none").build();
        Containers.Created c = containers.create(new Containers.CreateRequest("busybox", null, o, life),
                ProgressListener.NONE);
        seenIds.add(c.id());
        return c.id();
    }

    static Containers.Lifecycle life() {
        return Containers.Lifecycle.DEFAULT;
    }

    static String logText(String id, JsonFileLog.Query q) throws IOException {
        StringBuilder b = new StringBuilder();
        containers.logs(id, q, e -> {
            b.append(new String(e.data(), StandardCharsets.UTF_8));
            return true;
        });
        return b.toString();
    }

    static void eventually(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!cond.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for: " + what);
            Thread.sleep(50);
        }
    }

    /** Reads Docker's multiplexed frames to the end: [stdout, stderr]. */
    static String[] demux(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        byte[] h = new byte[8];
        while (in.readNBytes(h, 0, 8) == 8) {
            int len = ((h[4] & 0xff) << 24) | ((h[5] & 0xff) << 16) | ((h[6] & 0xff) << 8) | (h[7] & 0xff);
            (h[0] == 2 ? err : out).write(in.readNBytes(len));
        }
        return new String[]{out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void exitCodeOutputAndInspect() throws Exception {
        String id = create(life(), false, "sh", "-c", "echo out; echo err >&2; exit 7");
        assertEquals("created", containers.inspect(id).state().status());
        assertTrue(containers.start(id));
        assertEquals(7, containers.await(id, Containers.WaitCondition.NOT_RUNNING));
        Containers.Inspect i = containers.inspect(id);
        assertEquals("exited", i.state().status());
        assertEquals(7, i.state().exitCode());
        assertFalse(i.state().running());
        assertNotNull(i.state().startedAt());
        assertNotNull(i.state().finishedAt());
        assertFalse(i.state().finishedAt().isBefore(i.state().startedAt()));
        assertEquals("out\nerr\n", logText(id, JsonFileLog.Query.ALL));
        assertEquals("out\n", logText(id, new JsonFileLog.Query(true, false, -1, null, null, false)));
        assertEquals("err\n", logText(id, new JsonFileLog.Query(false, true, -1, null, null, false)));
        // the file is Docker's json-file form
        String first = Files.readAllLines(i.logPath()).getFirst();
        assertTrue(first.matches("\\{\"log\":\"out\\\\n\",\"stream\":\"stdout\",\"time\":\"\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\"}"),
                first);
        // restartable: a second run appends to the same log
        assertTrue(containers.start(id));
        assertEquals(7, containers.await(id, Containers.WaitCondition.NOT_RUNNING));
        assertEquals("out\nerr\nout\nerr\n", logText(id, JsonFileLog.Query.ALL));
        List<String> actions = events.stream().filter(e -> e.id().equals(id)).map(Containers.Event::action).toList();
        assertTrue(actions.containsAll(List.of("create", "start", "die")), actions.toString());
    }

    @Test
    void stopFollowTailAndTimestamps() throws Exception {
        String id = create(life(), false, "sh", "-c",
                "trap 'echo bye; exit 3' TERM; i=0; while true; do echo line$i; i=$((i+1)); sleep 0.1; done");
        Instant before = Instant.now();
        containers.start(id);
        assertFalse(containers.start(id), "a second start of a running container changes nothing");
        assertEquals("running", containers.inspect(id).state().status());
        assertTrue(containers.inspect(id).state().pid() > 0);
        List<String> followed = new CopyOnWriteArrayList<>();
        Thread follower = Thread.ofVirtual().start(() -> {
            try {
                containers.logs(id, new JsonFileLog.Query(true, true, -1, null, null, true), e -> {
                    followed.add(new String(e.data(), StandardCharsets.UTF_8));
                    return true;
                });
            } catch (IOException e) {
                followed.add("ERROR " + e);
            }
        });
        eventually("5 lines followed", () -> followed.size() >= 5);
        assertEquals("line3\nline4\n", String.join("", followed.subList(3, 5)));
        // the top shows the container's processes
        Containers.Top top = containers.top(id, null);
        assertTrue(top.titles().contains("PID"));
        assertTrue(top.processes().stream().anyMatch(r -> String.join(" ", r).contains("sh -c")), top.toString());
        assertNotNull(containers.stats(id));

        assertTrue(containers.stop(id, 5));
        follower.join(Duration.ofSeconds(10));
        assertFalse(follower.isAlive(), "follow ends when the container stops");
        assertEquals("bye\n", followed.getLast());
        Containers.Inspect i = containers.inspect(id);
        assertEquals("exited", i.state().status());
        assertEquals(3, i.state().exitCode());
        assertFalse(containers.stop(id, 1), "stopping a stopped container changes nothing");

        // tail and since/until, with the entries' times
        List<JsonFileLog.Entry> all = new ArrayList<>();
        containers.logs(id, JsonFileLog.Query.ALL, all::add);
        assertEquals(String.join("", followed), all.stream().map(e -> new String(e.data(), StandardCharsets.UTF_8))
                .reduce("", String::concat));
        assertTrue(all.stream().allMatch(e -> !e.time().isBefore(before.minusSeconds(1))));
        assertEquals("bye\n", logText(id, new JsonFileLog.Query(true, true, 1, null, null, false)));
        Instant cut = all.get(2).time();
        assertEquals(new String(all.get(2).data(), StandardCharsets.UTF_8) + new String(all.get(3).data(), StandardCharsets.UTF_8),
                logText(id, new JsonFileLog.Query(true, true, 2, null, all.get(4).time(), false)));
        assertTrue(logText(id, new JsonFileLog.Query(true, true, -1, cut, null, false)).startsWith(
                new String(all.get(2).data(), StandardCharsets.UTF_8)));
    }

    @Test
    void logRotation() throws Exception {
        Containers.Lifecycle life = new Containers.Lifecycle(null, false, false, false,
                new Monitor.LogConfig(600, 3), null, null);
        String id = create(life, false, "sh", "-c", "i=0; while [ $i -lt 60 ]; do echo entry-$i; i=$((i+1)); done");
        containers.start(id);
        assertEquals(0, containers.await(id, Containers.WaitCondition.NOT_RUNNING));
        Path log = containers.inspect(id).logPath();
        List<Path> files = JsonFileLog.files(log);
        assertEquals(3, files.size(), "max-file 3: " + files);
        for (Path f : files) {
            assertTrue(Files.size(f) <= 600, f + " is " + Files.size(f) + " bytes");
        }
        assertFalse(Files.exists(log.resolveSibling(log.getFileName() + ".3")));
        String text = logText(id, JsonFileLog.Query.ALL);
        assertTrue(text.endsWith("entry-58\nentry-59\n"), text);
        assertFalse(text.contains("entry-0\n"), "the oldest entries were rotated away");
        // consecutive: rotation loses nothing between the files kept
        String[] lines = text.split("\n");
        int firstKept = Integer.parseInt(lines[0].substring(6));
        for (int k = 0; k < lines.length; k++) {
            assertEquals("entry-" + (firstKept + k), lines[k]);
        }
        assertEquals("entry-59\n", logText(id, new JsonFileLog.Query(true, true, 1, null, null, false)));
    }

    @Test
    void attachStdinAndStdout() throws Exception {
        Containers.Lifecycle life = new Containers.Lifecycle(null, false, true, true, null, null, null);
        String id = create(life, false, "sh", "-c", "while read l; do echo got:$l; echo warn >&2; done; echo done");
        Attachment a = containers.attach(id, true, true, true);
        containers.start(id);
        a.input().write("one\ntwo\n".getBytes(StandardCharsets.UTF_8));
        a.closeInput(); // stdin-once: the container's stdin ends with this client's
        String[] out = demux(a.output());
        a.close();
        assertEquals("got:one\ngot:two\ndone\n", out[0]);
        assertEquals("warn\nwarn\n", out[1]);
        assertEquals(0, containers.await(id, Containers.WaitCondition.NOT_RUNNING));
        // two pipes: the order between stdout and stderr is not kept, each stream's own order is
        assertEquals("got:one\ngot:two\ndone\n", logText(id, new JsonFileLog.Query(true, false, -1, null, null, false)));
        assertEquals("warn\nwarn\n", logText(id, new JsonFileLog.Query(false, true, -1, null, null, false)));
    }

    @Test
    void ttyContainerWithResize() throws Exception {
        Containers.Lifecycle life = new Containers.Lifecycle(null, false, true, true, null, null, null);
        String id = create(life, true, "sh", "-c", "read l; stty size; echo said:$l");
        Attachment a = containers.attach(id, true, true, true);
        assertTrue(a.tty());
        containers.start(id);
        containers.resize(id, 33, 111);
        a.input().write("hi\n".getBytes(StandardCharsets.UTF_8));
        String out = new String(a.output().readAllBytes(), StandardCharsets.UTF_8);
        a.close();
        assertTrue(out.contains("33 111\r\n"), out);
        assertTrue(out.contains("said:hi\r\n"), out);
        assertEquals(0, containers.await(id, Containers.WaitCondition.NOT_RUNNING));
        assertTrue(logText(id, JsonFileLog.Query.ALL).contains("said:hi"));
    }

    @Test
    void execWithAndWithoutTerminal() throws Exception {
        String id = create(life(), false, "sleep", "1000");
        containers.start(id);
        String x = containers.execCreate(id, new Containers.ExecConfig(List.of("sh", "-c", "echo hi; echo oops >&2; exit 5"),
                false, false, true, true, List.of("FOO=bar"), null));
        Attachment a = containers.execStart(x, false);
        String[] out = demux(a.output());
        a.close();
        assertEquals("hi\n", out[0]);
        assertEquals("oops\n", out[1]);
        eventually("exec inspect shows the exit", () -> {
            try {
                return containers.execInspect(x).exitCode() != null;
            } catch (NoSuchFileException e) {
                return false;
            }
        });
        assertEquals(5, containers.execInspect(x).exitCode());
        assertFalse(containers.execInspect(x).running());
        assertThrows(IllegalStateException.class, () -> containers.execStart(x, false));

        String t = containers.execCreate(id, new Containers.ExecConfig(List.of("sh", "-c", "read l; stty size; echo $FOO:$l"),
                true, true, true, false, List.of("FOO=bar"), null));
        Attachment ta = containers.execStart(t, false);
        containers.execResize(t, 20, 90);
        ta.input().write("in\n".getBytes(StandardCharsets.UTF_8));
        String tout = new String(ta.output().readAllBytes(), StandardCharsets.UTF_8);
        ta.close();
        assertTrue(tout.contains("20 90\r\n"), tout);
        assertTrue(tout.contains("bar:in\r\n"), tout);
        eventually("tty exec exit", () -> {
            try {
                return containers.execInspect(t).exitCode() != null;
            } catch (NoSuchFileException e) {
                return false;
            }
        });
        assertEquals(0, containers.execInspect(t).exitCode());
        assertEquals("running", containers.inspect(id).state().status());
        assertTrue(containers.stop(id, 1));
        assertEquals(137, containers.inspect(id).state().exitCode(), "sleep as pid 1 ignores SIGTERM: killed");
    }

    @Test
    void autoRemove() throws Exception {
        Containers.Lifecycle life = new Containers.Lifecycle(null, true, false, false, null, null, null);
        String id = create(life, false, "true");
        containers.start(id);
        containers.await(id, Containers.WaitCondition.REMOVED);
        assertEquals(null, containers.find(id));
        assertFalse(Files.exists(engine.config().containersDir().resolve(id)));
        // The destroy event follows the removal (as in Docker), so the wait may return before it.
        eventually("the destroy event",
                () -> events.stream().anyMatch(e -> e.id().equals(id) && e.action().equals("destroy")));
    }

    @Test
    void restartPolicyOnFailure() throws Exception {
        Containers.Lifecycle life = new Containers.Lifecycle(Containers.RestartPolicy.parse("on-failure:2"), false,
                false, false, null, null, null);
        String id = create(life, false, "sh", "-c", "echo run; exit 1");
        containers.start(id);
        eventually("two restarts, then stopped", () -> {
            try {
                Containers.Inspect i = containers.inspect(id);
                return i.restartCount() == 2 && i.state().status().equals("exited");
            } catch (IOException e) {
                return false;
            }
        });
        Thread.sleep(500);
        Containers.Inspect i = containers.inspect(id);
        assertEquals(2, i.restartCount());
        assertEquals("exited", i.state().status());
        assertEquals(1, i.state().exitCode());
        assertEquals("run\nrun\nrun\n", logText(id, JsonFileLog.Query.ALL));
        assertThrows(IllegalArgumentException.class, () -> Containers.RestartPolicy.parse("sometimes"));
        assertThrows(IllegalArgumentException.class, () -> Containers.RestartPolicy.parse("always:3"));
    }

    @Test
    void namesAndRename() throws Exception {
        RunOptions o = RunOptions.builder().cmd("true").network("none").build();
        String id = containers.create(new Containers.CreateRequest("busybox", "first", o, null), ProgressListener.NONE).id();
        seenIds.add(id);
        assertThrows(IllegalArgumentException.class,
                () -> containers.create(new Containers.CreateRequest("busybox", "first", o, null), ProgressListener.NONE));
        assertThrows(IllegalArgumentException.class,
                () -> containers.create(new Containers.CreateRequest("busybox", "../x", o, null), ProgressListener.NONE));
        containers.rename("first", "second");
        assertEquals(id, containers.find("second").id());
        assertEquals(null, containers.find("first"));
        assertThrows(NoSuchFileException.class, () -> containers.start("nothing-here"));
    }

    /**
     * The engine's JVM killed with SIGKILL while its container runs: a fresh engine finds it running,
     * its log intact, and stops it.
     */
    @Test
    void survivesSigkillOfTheEngine() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Dvessel.launcher=" + System.getProperty("vessel.launcher"), EngineChild.class.getName(),
                root.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String id;
        try {
            id = new String(child.getInputStream().readNBytes(64), StandardCharsets.US_ASCII);
            assertEquals(64, id.length(), "the child engine printed the container's ID");
            seenIds.add(id);
        } finally {
            child.destroyForcibly(); // SIGKILL
            child.waitFor();
        }
        Engine fresh = Engine.open(config());
        Containers c = fresh.containers();
        assertTrue(c.recover().contains(id));
        assertEquals("running", c.inspect(id).state().status());
        assertTrue(c.list().stream().anyMatch(i -> i.id().equals(id) && i.status().equals("running")));
        eventually("the container logs after the engine died", () -> {
            try {
                return logTextOf(c, id).contains("tick2\n");
            } catch (IOException e) {
                return false;
            }
        });
        assertTrue(logTextOf(c, id).startsWith("tick0\ntick1\n"));
        assertTrue(c.stop(id, 5));
        Containers.Inspect i = c.inspect(id);
        assertEquals("exited", i.state().status());
        assertEquals(4, i.state().exitCode());
        c.remove(id, false, true);
    }

    private static String logTextOf(Containers c, String id) throws IOException {
        StringBuilder b = new StringBuilder();
        c.logs(id, JsonFileLog.Query.ALL, e -> {
            b.append(new String(e.data(), StandardCharsets.UTF_8));
            return true;
        });
        return b.toString();
    }
}
