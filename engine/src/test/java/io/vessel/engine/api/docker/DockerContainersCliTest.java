package io.vessel.engine.api.docker;

import io.vessel.engine.api.docker.TestDaemon.Result;
import io.vessel.engine.api.RawClient;
import io.vessel.json.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The container and exec API end to end: a daemon in this JVM over a temporary root, the real
 * docker CLI ({@code DOCKER_HOST=unix://...}) running containers through the real runtime, each
 * option checked from inside the container, and raw hostile requests.
 */
class DockerContainersCliTest extends DaemonCliTest {
    static final Path DOCKER = TestDaemon.DOCKER;

    @Override
    TestDaemon startDaemon() throws IOException {
        return TestDaemon.start("vessel-dc-", null, true);
    }

    /** Runs docker ARGS (or {@code script ...} as given) with DOCKER_HOST set; {@code input} (may be null) is its stdin. */
    Result run(String input, List<String> args) throws IOException, InterruptedException {
        return d.run(null, input, args.getFirst().equals("script") ? args : TestDaemon.docker(args));
    }

    JsonNode inspect(String what) throws Exception {
        return JsonNode.parse("inspect", docker("inspect", what).ok().out()).elements().getFirst();
    }

    /** Polls {@code check} for up to {@code seconds}. */
    static boolean eventually(int seconds, Check check) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (check.ok()) {
                return true;
            }
            Thread.sleep(100);
        }
        return check.ok();
    }

    interface Check {
        boolean ok() throws Exception;
    }

    @Test
    void runRemoveForeground() throws Exception {
        assertEquals("hi\n", docker("run", "--rm", "busybox", "echo", "hi").ok().out());
        Result failed = docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3");
        assertEquals(3, failed.exit(), failed.err());
        assertEquals("out\n", failed.out());
        assertTrue(failed.err().contains("err"), failed.err());
        assertEquals("", docker("ps", "-aq", "--filter", "ancestor=busybox", "--filter", "status=exited").ok().out());
        Result missing = docker("run", "--rm", "--name", "nocmd", "busybox", "/no/such/command");
        assertEquals(127, missing.exit(), missing.err());
        assertTrue(missing.err().contains("/no/such/command"), missing.err());
        assertEquals("", docker("ps", "-aq", "--filter", "name=nocmd").ok().out(), "--rm removed it");
    }

    @Test
    void detachedLifecycle() throws Exception {
        String id = docker("run", "-d", "--name", "web", "-l", "app=web", "busybox", "sh", "-c",
                "echo started; echo warn >&2; exec sleep 1000").ok().out().trim();
        assertEquals(64, id.length(), id);
        String ps = docker("ps", "--format", "{{.Names}} {{.Status}} {{.Command}}").ok().out();
        assertTrue(ps.contains("web Up "), ps);
        assertEquals(id.substring(0, 12) + "\n", docker("ps", "-q", "--filter", "label=app=web").ok().out());
        assertEquals("", docker("ps", "-q", "--filter", "label=app=db").ok().out());
        assertEquals(id.substring(0, 12) + "\n", docker("ps", "-q", "--filter", "name=^/we").ok().out());
        assertEquals(id.substring(0, 12) + "\n", docker("ps", "-q", "--filter", "status=running",
                "--filter", "ancestor=busybox").ok().out());
        assertTrue(eventually(5, () -> docker("logs", "web").out().equals("started\n")));
        Result logs = docker("logs", "web").ok();
        assertEquals("warn\n", logs.err());
        Result stamped = docker("logs", "--timestamps", "--tail", "1", "web").ok();
        assertTrue((stamped.out() + stamped.err()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z warn\n"),
                stamped.out() + "|" + stamped.err());

        // exec: output, exit status, environment, working directory
        assertEquals("inside\n", docker("exec", "web", "echo", "inside").ok().out());
        assertEquals(5, docker("exec", "web", "sh", "-c", "exit 5").exit());
        assertEquals("v /tmp\n", docker("exec", "-e", "X=v", "-w", "/tmp", "web", "sh", "-c", "echo $X $(pwd)")
                .ok().out());
        docker("exec", "web", "sh", "-c", "head -c 100000 /dev/zero > /written").ok();
        String size = docker("ps", "-s", "--filter", "name=web", "--format", "{{.Size}}").ok().out();
        assertTrue(size.startsWith("100kB (virtual "), size);
        assertEquals("1000:1000\n", docker("exec", "-u", "1000:1000", "web", "sh", "-c", "echo $(id -u):$(id -g)")
                .ok().out());
        Result execIt = run("echo $((6*7)); exit 4\n",
                List.of("script", "-qfec", DOCKER + " exec -it web sh", "/dev/null"));
        assertTrue(execIt.out().contains("42"), execIt.out());
        assertEquals(4, execIt.exit(), execIt.out() + execIt.err());

        Result top = docker("top", "web").ok();
        assertTrue(top.out().contains("sleep 1000"), top.out());
        Result stats = docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "web").ok();
        assertTrue(stats.out().startsWith("web ") && stats.out().trim().endsWith(" 1"), stats.out());
        assertFalse(stats.out().contains("EiB"), "an unlimited container's limit is the host's memory: " + stats.out());

        docker("pause", "web").ok();
        assertEquals("paused true", docker("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "web").ok().out().trim());
        docker("unpause", "web").ok();
        assertEquals("running", docker("inspect", "-f", "{{.State.Status}}", "web").ok().out().trim());

        docker("rename", "web", "web2").ok();
        assertEquals("/web2", inspect(id).get("Name").string());
        String started = inspect(id).get("State").get("StartedAt").string();
        docker("restart", "-t", "1", "web2").ok();
        JsonNode after = inspect(id);
        assertEquals("running", after.get("State").get("Status").string());
        assertNotEquals(started, after.get("State").get("StartedAt").string());

        docker("stop", "-t", "1", "web2").ok();
        JsonNode stopped = inspect(id);
        assertEquals("exited", stopped.get("State").get("Status").string());
        assertEquals(137, stopped.get("State").get("ExitCode").intValue()); // sh as pid 1 ignores SIGTERM
        assertTrue(docker("ps", "-a", "--filter", "exited=137", "--format", "{{.Names}}").ok().out().contains("web2"));
        docker("rm", "web2").ok();
        assertFalse(docker("ps", "-a", "--format", "{{.Names}}").ok().out().contains("web2"));
    }

    @Test
    void followLogs() throws Exception {
        docker("run", "-d", "--name", "counter", "busybox", "sh", "-c",
                "for i in 1 2 3; do echo $i; sleep 0.3; done").ok();
        assertEquals("1\n2\n3\n", docker("logs", "-f", "counter").ok().out());
        assertEquals("0\n", docker("wait", "counter").ok().out());
        docker("rm", "counter").ok();
    }

    @Test
    void attachStdinAndEvents() throws Exception {
        long since = System.currentTimeMillis() / 1000 - 1;
        assertEquals("piped\n", run("piped\n", List.of("run", "-i", "--rm", "--name", "cat", "busybox", "cat")).ok().out());
        docker("run", "-d", "--name", "late", "busybox", "sh", "-c", "sleep 1; echo late; exit 2").ok();
        Result attached = docker("attach", "late");
        assertEquals(2, attached.exit(), attached.err());
        assertEquals("late\n", attached.out());
        assertEquals("late\n", docker("logs", "--since", "2000-01-01T00:00:00Z", "late").ok().out());
        assertEquals("", docker("logs", "--until", "2000-01-01T00:00:00Z", "late").ok().out());
        Result again = docker("start", "-a", "late");
        assertEquals(2, again.exit(), again.err());
        assertEquals("late\n", again.out());
        docker("rm", "late").ok();
        String events = docker("events", "--since", Long.toString(since), "--until",
                Long.toString(System.currentTimeMillis() / 1000 + 1), "--filter", "type=container",
                "--format", "{{.Action}} {{.Actor.Attributes.name}}").ok().out();
        for (String want : List.of("create cat", "start cat", "die cat", "destroy cat", "create late", "attach late",
                "die late", "destroy late")) {
            assertTrue(events.contains(want + "\n"), "no event \"" + want + "\" in:\n" + events);
        }
    }

    @Test
    void signalsTerminalLogsAndExecErrors() throws Exception {
        String trap = "trap 'echo got USR1; exit 9' USR1; echo ready; while true; do sleep 0.1; done";
        docker("run", "-d", "--name", "sig", "busybox", "sh", "-c", trap).ok();
        assertTrue(eventually(10, () -> docker("logs", "sig").out().equals("ready\n")));
        docker("kill", "-s", "USR1", "sig").ok();
        assertEquals("9\n", docker("wait", "sig").ok().out());
        assertTrue(docker("logs", "sig").ok().out().contains("got USR1\n"));
        Result notRunning = docker("kill", "sig");
        assertNotEquals(0, notRunning.exit());
        assertTrue(notRunning.err().contains("is not running"), notRunning.err());
        Result execStopped = docker("exec", "sig", "true");
        assertNotEquals(0, execStopped.exit());
        assertTrue(execStopped.err().contains("is not running"), execStopped.err());

        docker("start", "sig").ok();
        assertTrue(eventually(10, () -> docker("logs", "--tail", "1", "sig").out().equals("ready\n")));
        docker("stop", "-s", "USR1", "-t", "10", "sig").ok();
        assertEquals("9", docker("inspect", "-f", "{{.State.ExitCode}}", "sig").ok().out().trim(),
                "stopped by the signal asked for, not SIGKILL");
        docker("rm", "sig").ok();

        docker("run", "-d", "-t", "--name", "tty", "busybox", "echo", "hi").ok();
        assertEquals("0\n", docker("wait", "tty").ok().out());
        assertEquals("hi\r\n", docker("logs", "tty").ok().out(), "a terminal's output is raw, with its CR");
        assertEquals("true", docker("inspect", "-f", "{{.Config.Tty}}", "tty").ok().out().trim());
        docker("rm", "tty").ok();
    }

    @Test
    void logRotation() throws Exception {
        docker("run", "--name", "chatty", "--log-opt", "max-size=1k", "--log-opt", "max-file=2", "busybox", "sh", "-c",
                "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo line$i; done").ok();
        String logs = docker("logs", "chatty").ok().out();
        assertTrue(logs.endsWith("line199\nline200\n"), logs);
        assertFalse(logs.startsWith("line1\n"), "the oldest lines were rotated away: " + logs.length() + " bytes kept");
        assertTrue(logs.length() < 2048, "at most two files of about 1 KiB of entries: " + logs.length());
        assertEquals("json-file 1024 2", docker("inspect", "-f",
                "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}} "
                        + "{{index .HostConfig.LogConfig.Config \"max-file\"}}", "chatty").ok().out().trim());
        Result bad = docker("run", "--rm", "--log-driver", "syslog", "busybox", "true");
        assertEquals(125, bad.exit());
        assertTrue(bad.err().contains("syslog"), bad.err());
        docker("rm", "chatty").ok();
    }

    @Test
    void interactiveTerminal() throws Exception {
        Result r = run("echo $((6*7)); exit 3\n",
                List.of("script", "-qfec", DOCKER + " run -it --rm busybox sh", "/dev/null"));
        assertTrue(r.out().contains("42"), r.out());
        assertEquals(3, r.exit(), r.out() + r.err());
        // the client's terminal size at create is the container's from its first instruction
        RawClient.Response created = post("/v1.47/containers/create?name=sized", "{\"Image\": \"busybox\", \"Tty\": true,"
                + " \"Cmd\": [\"stty\", \"size\"], \"HostConfig\": {\"ConsoleSize\": [33, 101]}}");
        assertEquals(201, created.status(), created.body());
        docker("start", "sized").ok();
        assertEquals("0\n", docker("wait", "sized").ok().out());
        assertEquals("33 101", docker("logs", "sized").ok().out().trim());
        docker("rm", "sized").ok();
    }

    @Test
    void runOptionsSeenFromInside() throws Exception {
        docker("volume", "create", "optvol").ok();
        Result r = docker("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1000", "--hostname", "boxy",
                "--read-only", "--cap-drop", "ALL", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50",
                "--tmpfs", "/scratch", "-v", "optvol:/data", "--init", "busybox", "sh", "-c",
                "echo env=$FOO; echo cwd=$(pwd); echo uid=$(id -u):$(id -g); echo host=$(hostname);"
                        + " touch /rootfile 2>/dev/null && echo rootfs=rw || echo rootfs=ro;"
                        + " grep CapEff /proc/self/status;"
                        + " mount | grep -q ' /scratch type tmpfs' && echo scratch=tmpfs;"
                        + " mount | grep -q ' /data ' && echo data=mounted;"
                        + " echo init=$(tr '\\0' ' ' < /proc/1/cmdline);"
                        + " cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null;"
                        + " cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null;"
                        + " cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null; true").ok();
        String out = r.out();
        for (String want : List.of("env=bar\n", "cwd=/tmp\n", "uid=1000:1000\n", "host=boxy\n", "rootfs=ro\n",
                "CapEff:\t0000000000000000\n", "scratch=tmpfs\n", "data=mounted\n", "\n67108864\n", "\n50\n",
                "\n50000\n")) {
            assertTrue(out.contains(want), "missing " + want.trim() + " in:\n" + out);
        }
        assertTrue(out.contains("init=" + CreateBody.INIT_TARGET + " -- sh -c"), out);
        assertEquals("hello\n", docker("run", "--rm", "--entrypoint", "echo", "busybox", "hello").ok().out());
        docker("volume", "rm", "optvol").ok();
    }

    @Test
    void oomKillIsReported() throws Exception {
        long since = System.currentTimeMillis() / 1000 - 1;
        // dd's 64 MiB buffer cannot fit under a 16 MiB limit: the kernel's OOM killer ends it
        docker("run", "-d", "--name", "oomer", "--memory", "16m", "busybox", "dd", "if=/dev/zero", "of=/dev/null",
                "bs=64M", "count=1").ok();
        assertEquals("137\n", docker("wait", "oomer").ok().out());
        assertEquals("true 137", docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "oomer").ok().out().trim());
        String events = docker("events", "--since", Long.toString(since), "--until",
                Long.toString(System.currentTimeMillis() / 1000 + 1), "--filter", "type=container",
                "--format", "{{.Action}} {{.Actor.Attributes.name}}").ok().out();
        assertTrue(events.contains("oom oomer\ndie oomer\n"), "no oom event before die in:\n" + events);
        docker("rm", "oomer").ok();
        docker("run", "--name", "fine", "--memory", "16m", "busybox", "true").ok();
        assertEquals("false 0", docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "fine").ok().out().trim());
        docker("rm", "fine").ok();
    }

    /** A block device of the host for the blkio throttles, or null. */
    private static Path blockDevice() throws IOException {
        try (var names = Files.list(Path.of("/sys/block"))) {
            for (Path p : names.sorted().toList()) {
                String name = p.getFileName().toString();
                Path dev = Path.of("/dev", name);
                if (!name.startsWith("loop") && !name.startsWith("ram") && Files.exists(dev)
                        && ((Integer) Files.getAttribute(dev, "unix:mode") & 0170000) == 0060000) {
                    return dev;
                }
            }
        }
        return null;
    }

    @Test
    void cpuSharesAndBlockIoThrottlesSeenFromInside() throws Exception {
        Path dev = blockDevice();
        Assumptions.assumeTrue(dev != null, "no block device on this host to throttle");
        String out = docker("run", "--rm", "--cpu-shares", "512", "--device-read-iops", dev + ":100",
                "--device-write-iops", dev + ":50", "--device-read-bps", dev + ":1mb", "busybox", "sh", "-c",
                "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/blkio/blkio.throttle.read_iops_device"
                        + " /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device"
                        + " /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device").ok().out();
        List<String> lines = out.lines().toList();
        assertEquals("512", lines.getFirst(), out);
        assertTrue(lines.get(1).matches("\\d+:\\d+ 100") && lines.get(2).matches("\\d+:\\d+ 50")
                && lines.get(3).matches("\\d+:\\d+ 1048576"), out);
        Result bad = docker("run", "--rm", "--device-read-iops", "/dev/null:10", "busybox", "true");
        assertEquals(125, bad.exit());
        assertTrue(bad.err().contains("is not a block device"), bad.err());
    }

    @Test
    void inspectFields() throws Exception {
        docker("volume", "create", "ivol").ok();
        String id = docker("run", "-d", "--name", "insp", "-e", "A=1", "-l", "k=v", "-v", "ivol:/data:ro",
                "-w", "/tmp", "--restart", "unless-stopped", "busybox", "sleep", "1000").ok().out().trim();
        JsonNode j = inspect("insp");
        assertEquals(id, j.get("Id").string());
        assertEquals("/insp", j.get("Name").string());
        JsonNode state = j.get("State");
        assertEquals("running", state.get("Status").string());
        assertTrue(state.get("Running").bool(false));
        assertTrue(state.get("Pid").intValue() > 0);
        assertEquals("0001-01-01T00:00:00Z", state.get("FinishedAt").string());
        JsonNode config = j.get("Config");
        assertEquals("busybox", config.get("Image").string());
        assertEquals(List.of("sleep", "1000"), config.get("Cmd").stringList());
        assertTrue(config.get("Env").stringList().contains("A=1"));
        assertEquals("v", config.get("Labels").get("k").string());
        assertEquals("/tmp", config.get("WorkingDir").string());
        assertEquals("unless-stopped", j.get("HostConfig").get("RestartPolicy").get("Name").string());
        JsonNode mount = j.get("Mounts").elements().getFirst();
        assertEquals("volume", mount.get("Type").string());
        assertEquals("ivol", mount.get("Name").string());
        assertEquals("/data", mount.get("Destination").string());
        assertFalse(mount.get("RW").bool(true));
        assertTrue(j.get("NetworkSettings").isObject());
        docker("rm", "-f", "insp").ok();
        docker("volume", "rm", "ivol").ok();
    }

    @Test
    void waitRestartPolicyPruneAndDetachedRm() throws Exception {
        String id = docker("run", "-d", "busybox", "sh", "-c", "exit 7").ok().out().trim();
        assertEquals("7\n", docker("wait", id).ok().out());

        String flaky = docker("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1").ok().out().trim();
        boolean restartedTwice = eventually(20, () -> docker("inspect", "-f", "{{.RestartCount}} {{.State.Status}}",
                flaky).out().trim().equals("2 exited"));
        assertTrue(restartedTwice, "inspect: " + engine.containers().inspect(flaky));

        String gone = docker("run", "-d", "--rm", "busybox", "sleep", "0.5").ok().out().trim();
        assertTrue(eventually(15, () -> !docker("ps", "-aq", "--no-trunc").out().contains(gone)));

        String pruned = docker("container", "prune", "-f").ok().out();
        assertTrue(pruned.contains(id) && pruned.contains(flaky), pruned);
        assertFalse(docker("ps", "-aq", "--no-trunc").ok().out().contains(id));
    }

    /** Asserts a Docker-style JSON error ({"message": ...}) with this status and a message containing {@code part}. */
    private static void error(RawClient.Response r, int status, String part) {
        assertEquals(status, r.status(), r.body());
        String message = JsonNode.parse("error", r.body()).get("message").string();
        assertTrue(message.contains(part), message);
    }

    private RawClient.Response post(String path, String body) throws IOException {
        return RawClient.exchange(socket, "POST " + path + " HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + body);
    }

    @Test
    void hostileInput() throws Exception {
        int before = engine.containers().list().size();
        error(post("/v1.47/containers/create", "{\"Image\": \"busybox\", \"Cmd\": [\"true\""), 400, "invalid JSON");
        error(post("/v1.47/containers/create", "{\"Image\": \"busybox\", \"Cmd\": 5}"), 400, "Cmd");
        error(post("/v1.47/containers/create?name=../etc", "{\"Image\": \"busybox\"}"), 400, "Invalid container name");
        error(post("/v1.47/containers/create?name=a%2F..%2Fb", "{\"Image\": \"busybox\"}"), 400, "Invalid container name");
        error(post("/v1.47/containers/create", "{\"Image\": \"busybox\", \"HostConfig\": {\"RestartPolicy\": "
                + "{\"Name\": \"sometimes\"}}}"), 400, "invalid restart policy");
        error(post("/v1.47/containers/create", "{\"Image\": \"nosuchimage:1\"}"), 404, "No such image");
        error(post("/v1.47/containers/create", "{\"Image\": \"busybox\", \"HostConfig\": {\"ConsoleSize\": [1, 2, 3]}}"),
                400, "ConsoleSize");
        error(post("/v1.47/containers/create", "{\"Image\": \"busybox\", \"HostConfig\": {\"ConsoleSize\": [70000, 2]}}"),
                400, "out of range");
        error(post("/v1.47/containers/create", "{\"Image\": \"busybox\", \"HostConfig\": {\"Binds\": [\"/x:relative\"]}}"),
                400, "");
        // a body declared beyond the limit is refused before it is read
        RawClient.Response tooBig = RawClient.exchange(socket, "POST /v1.47/containers/create HTTP/1.1\r\nHost: d\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + (64 << 20) + "\r\nConnection: close\r\n\r\n"
                + "{\"Image\": \"busybox\", \"Env\": [\"xxxx");
        error(tooBig, 413, "exceeds the limit");
        assertEquals(before, engine.containers().list().size(), "nothing was made by refused requests");

        // unknown fields are ignored, as dockerd's decoder does
        RawClient.Response ok = post("/v1.47/containers/create?name=tolerant",
                "{\"Image\": \"busybox\", \"Cmd\": [\"sleep\", \"100\"], \"NoSuchField\": {\"x\": 1}}");
        assertEquals(201, ok.status(), ok.body());
        docker("start", "tolerant").ok();
        error(post("/v1.47/containers/tolerant/kill?signal=SIGNOPE", ""), 400, "SIGNOPE");
        error(post("/v1.47/containers/nosuch/start", ""), 404, "No such container: nosuch");
        error(post("/v1.47/containers/tolerant/rename?name=..%2Fx", ""), 400, "Invalid container name");
        RawClient.Response conflict = post("/v1.47/containers/create?name=tolerant", "{\"Image\": \"busybox\"}");
        error(conflict, 409, "already in use");
        error(RawClient.exchange(socket, "DELETE /v1.47/containers/tolerant HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"),
                409, "stop it before removing");
        error(post("/v1.47/containers/tolerant/wait?condition=sometime", ""), 400, "invalid condition");
        error(RawClient.exchange(socket, "GET /v1.47/containers/json?filters=%7B%22bogus%22%3A%5B%221%22%5D%7D HTTP/1.1\r\n"
                + "Host: d\r\nConnection: close\r\n\r\n"), 400, "invalid filter 'bogus'");
        error(post("/v1.47/containers/tolerant/exec", "{\"Cmd\": []}"), 400, "No exec command specified");
        error(post("/v1.47/exec/nosuchexec/start", "{}"), 404, "No such exec instance");
        docker("rm", "-f", "tolerant").ok();
        assertEquals("", docker("ps", "-aq", "--filter", "name=tolerant").ok().out(), "the daemon still serves");
    }
}
