package io.vessel.runtime.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real podman runs containers with {@code --runtime <repo>/vessel-runtime}: it calls create, start,
 * state, exec, kill, delete, pause, resume and update the way it calls runc. Everything podman keeps is
 * under a temporary directory (storage, run root, tmpdir, its containers.conf and storage.conf, the
 * events file) and every container's cgroup lies below a cgroup parent of its own, removed at the end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PodmanTest {
    private static final String IMAGE = "localhost/busybox";
    /** Where vessel-runtime keeps container state: podman passes it no --root (runc's /run/runc likewise). */
    private static final Path RUNTIME_ROOT = Path.of("/run/vessel-runtime");
    private static final Path CGROUP = Path.of("/sys/fs/cgroup");

    private Path home;
    private String cgroupParent;
    private String driver = "overlay";

    record Result(int exit, String out, String err) {
        Result ok() {
            if (exit != 0) {
                throw new AssertionError("podman exited " + exit + "\nstdout: " + out + "\nstderr: " + err);
            }
            return this;
        }
    }

    @BeforeAll
    void setUp() throws Exception {
        Root.assume();
        Assumptions.assumeTrue(onPath("podman") && onPath("conmon"),
                "podman or conmon is not installed (scripts/install-deps.sh --test installs them)");
        home = Files.createTempDirectory("vessel-podman");
        cgroupParent = "/vessel-podman-test-" + UUID.randomUUID().toString().substring(0, 8);
        writeConfig();
        Path rootfs = home.resolve("rootfs");
        Bundle.sh(Bundle.repo().resolve("scripts/make-rootfs.sh").toString(), rootfs.toString());
        Path tar = home.resolve("busybox.tar");
        Bundle.sh("tar", "-C", rootfs.toString(), "-cf", tar.toString(), ".");
        Result imported = podman("import", tar.toString(), IMAGE);
        if (imported.exit() != 0) {
            // kernel overlayfs refused (a file system it cannot stack on): fall back to plain copies
            podman("system", "reset", "--force");
            driver = "vfs";
            writeConfig();
            podman("import", tar.toString(), IMAGE).ok();
        }
    }

    private void writeConfig() throws IOException {
        // root here lacks CAP_SYS_RESOURCE: podman's default rlimits (nofile and nproc 1048576) would
        // be above the hard limits the runtime may raise to.
        Files.writeString(home.resolve("containers.conf"), """
                [containers]
                default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
                netns = "none"
                log_driver = "k8s-file"

                [engine]
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                events_logfile_path = "%1$s/events.log"
                runtime_supports_json = ["vessel-runtime"]
                tmp_dir = "%1$s/tmp"
                volume_path = "%1$s/volumes"

                [network]
                network_config_dir = "%1$s/networks"
                """.formatted(home));
        Files.writeString(home.resolve("storage.conf"), """
                [storage]
                driver = "%2$s"
                graphroot = "%1$s/root"
                runroot = "%1$s/runroot"
                """.formatted(home, driver));
    }

    @AfterEach
    void removeContainers() throws Exception {
        if (home == null) {
            return;
        }
        List<String> ids = podman("ps", "-aq", "--no-trunc").out().lines().filter(s -> !s.isBlank()).toList();
        podman("rm", "--all", "--force", "--time", "0");
        for (String id : ids) {
            assertFalse(Files.exists(RUNTIME_ROOT.resolve(id)), "vessel-runtime still keeps the state of " + id);
        }
    }

    @AfterAll
    void tearDown() throws Exception {
        if (home == null) {
            return;
        }
        try {
            podman("rm", "--all", "--force", "--time", "0");
            podman("rmi", "--all", "--force");
            podman("system", "reset", "--force");
        } finally {
            unmountUnder(home);
            try (Stream<Path> s = Files.walk(home)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
            removeCgroupParent();
        }
    }

    // ---------------------------------------------------------------- tests

    @Test
    void runPrintsOutputAndPassesTheExitStatus() throws Exception {
        Result r = run("--rm", IMAGE, "echo", "hi").ok();
        assertEquals("hi\n", r.out());
        assertEquals(3, run("--rm", IMAGE, "sh", "-c", "echo bye; exit 3").exit());
        Result missing = run("--rm", IMAGE, "/no/such/program");
        assertEquals(127, missing.exit(), missing.err());
        assertTrue(missing.err().contains("/no/such/program"), "the runtime's error reaches podman: " + missing.err());
    }

    @Test
    void detachedContainerExecStopRemove() throws Exception {
        String id = run("-d", "--name", "worker", IMAGE, "sh", "-c",
                "trap 'echo got TERM; exit 0' TERM; while :; do sleep 0.1; done").ok().out().trim();
        assertTrue(Files.isDirectory(RUNTIME_ROOT.resolve(id)), "the runtime keeps the container's state");
        assertEquals("running", inspect("worker", "{{.State.Status}}"));
        Result exec = podman("exec", "worker", "sh", "-c", "echo in $(hostname); exit 5");
        assertEquals(5, exec.exit(), exec.err());
        assertEquals("in " + id.substring(0, 12) + "\n", exec.out());
        // a detached exec keeps running beside the init
        podman("exec", "-d", "worker", "sleep", "300").ok();
        assertTrue(podman("top", "worker", "args").ok().out().contains("sleep 300"));
        String cgroup = cgroupDir("memory", Integer.parseInt(inspect("worker", "{{.State.Pid}}")));

        podman("stop", "--time", "10", "worker").ok();
        assertEquals("exited", inspect("worker", "{{.State.Status}}"));
        assertEquals("0", inspect("worker", "{{.State.ExitCode}}"), "the init's TERM trap ran");
        assertTrue(podman("logs", "worker").ok().out().contains("got TERM"));
        podman("rm", "worker").ok();
        assertEquals("", podman("ps", "-aq").ok().out());
        assertFalse(Files.exists(RUNTIME_ROOT.resolve(id)), "delete removed the runtime's state");
        assertFalse(Files.exists(Path.of(cgroup)), "delete removed the cgroup " + cgroup);
    }

    @Test
    void killWithASignalAndRestart() throws Exception {
        run("-d", "--name", "sig", IMAGE, "sh", "-c", "trap 'echo got HUP' HUP; while :; do sleep 0.1; done").ok();
        podman("kill", "--signal", "HUP", "sig").ok();
        Poll.until(() -> podman("logs", "sig").out().contains("got HUP"), "the HUP trap to run");
        assertEquals("running", inspect("sig", "{{.State.Status}}"));
        podman("kill", "sig").ok(); // SIGKILL
        Poll.until(() -> inspect("sig", "{{.State.Status}}").equals("exited"), "the container to stop");
        assertEquals("137", inspect("sig", "{{.State.ExitCode}}"));
        // a stopped container starts again: podman deletes and creates it anew
        podman("start", "sig").ok();
        assertEquals("running", inspect("sig", "{{.State.Status}}"));
    }

    @Test
    void interactiveTerminal() throws Exception {
        // script(1) gives podman a terminal on its stdin, as a user's shell would. The container
        // waits before writing: podman 4.3 sometimes attaches to conmon only after a container that
        // writes at once has written, and its terminal then shows nothing (measured: 1 run in 15 with
        // runc, 5 in 15 with vessel-runtime, whose start is quicker; none in 15 with the wait).
        Result r = underTerminal("run", "-it", "--rm", "--cgroup-parent", cgroupParent, IMAGE, "sh", "-c",
                "sleep 0.5; tty; echo ok");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(Pattern.compile("/dev/pts/\\d+\\r?\\n").matcher(r.out()).find(), r.out());
        assertTrue(r.out().contains("ok"), r.out());

        run("-d", "--name", "tty", IMAGE, "sleep", "300").ok();
        Result exec = underTerminal("exec", "-it", "tty", "sh", "-c", "tty; echo exec-ok");
        assertEquals(0, exec.exit(), exec.out() + exec.err());
        assertTrue(Pattern.compile("/dev/pts/\\d+\\r?\\n").matcher(exec.out()).find(), exec.out());
        assertTrue(exec.out().contains("exec-ok"), exec.out());
    }

    @Test
    void memoryLimitOnTheHostAndInside() throws Exception {
        run("-d", "--name", "mem", "--memory", "64m", IMAGE, "sleep", "300").ok();
        int pid = Integer.parseInt(inspect("mem", "{{.State.Pid}}"));
        assertEquals("67108864", read(cgroupDir("memory", pid), "memory.limit_in_bytes"));
        assertEquals("67108864\n", podman("exec", "mem", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
                .ok().out());
        // podman update rewrites the limit through the runtime's update --resources
        podman("update", "--memory", "96m", "mem").ok();
        assertEquals(Long.toString(96L << 20), read(cgroupDir("memory", pid), "memory.limit_in_bytes"));

        // beyond the limit (and no swap to go to) the kernel's OOM killer ends the process
        // (dd's 200 MiB buffer is touched by its read)
        Result oom = run("--rm", "--memory", "32m", "--memory-swap", "32m", IMAGE, "sh", "-c",
                "dd if=/dev/zero of=/dev/null bs=200M count=1 && echo survived; echo dd $?");
        assertEquals("dd 137\n", oom.out(), oom.err());
    }

    @Test
    void pidsLimitStopsForking() throws Exception {
        Result r = run("--rm", "--pids-limit", "10", IMAGE, "sh", "-c",
                "cat /sys/fs/cgroup/pids/pids.max; i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; "
                        + "echo started $i");
        String all = r.out() + r.err();
        assertTrue(r.out().startsWith("10\n"), all);
        assertTrue(all.contains("can't fork") || all.contains("Resource temporarily unavailable"), all);

        run("-d", "--name", "pids", "--pids-limit", "10", IMAGE, "sleep", "300").ok();
        assertEquals("10", read(cgroupDir("pids", Integer.parseInt(inspect("pids", "{{.State.Pid}}"))), "pids.max"));
    }

    @Test
    void cpuQuota() throws Exception {
        run("-d", "--name", "cpu", "--cpus", "0.5", IMAGE, "sleep", "300").ok();
        String dir = cgroupDir("cpu", Integer.parseInt(inspect("cpu", "{{.State.Pid}}")));
        assertEquals("50000", read(dir, "cpu.cfs_quota_us"));
        assertEquals("100000", read(dir, "cpu.cfs_period_us"));
        assertEquals("50000 100000\n", podman("exec", "cpu", "sh", "-c",
                "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)")
                .ok().out());
    }

    @Test
    void readOnlyRootKeepsTmpfsWritable() throws Exception {
        // --read-only mounts tmpfs with runc's "tmpcopyup" on /tmp, /run and /var/tmp
        Result r = run("--rm", "--read-only", IMAGE, "sh", "-c",
                "touch /x || echo root-ro; touch /tmp/y && echo tmp-rw; ls /etc/passwd >/dev/null && echo etc");
        assertEquals("root-ro\ntmp-rw\netc\n", r.ok().out());
        assertTrue(r.err().contains("Read-only file system"), r.err());
        // tmpcopyup: the tmpfs starts with what the directory held
        assertEquals("root:x:0:0:root:/root:/bin/sh\n",
                run("--rm", "--tmpfs", "/etc", IMAGE, "sh", "-c", "grep ^root: /etc/passwd; touch /etc/new").ok()
                        .out());
    }

    @Test
    void droppedCapabilities() throws Exception {
        Result none = run("--rm", "--cap-drop", "all", IMAGE, "grep", "^Cap[EPB]", "/proc/self/status").ok();
        assertEquals("CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n", none.out());
        String chown = "touch /f && chown 5 /f && echo chowned";
        assertEquals("chowned\n", run("--rm", IMAGE, "sh", "-c", chown).ok().out());
        Result dropped = run("--rm", "--cap-drop", "CHOWN", IMAGE, "sh", "-c", chown);
        assertNotEquals(0, dropped.exit());
        assertTrue(dropped.err().contains("Operation not permitted"), dropped.err());
    }

    @Test
    void userNamespaceMapsRootToAnUnprivilegedUser() throws Exception {
        run("-d", "--name", "userns", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", IMAGE,
                "sh", "-c", "id; sleep 300").ok();
        Poll.until(() -> podman("logs", "userns").out().contains("uid="), "the container's output");
        assertEquals("uid=0(root) gid=0(root)\n", podman("logs", "userns").ok().out());
        int pid = Integer.parseInt(inspect("userns", "{{.State.Pid}}"));
        String status = Files.readString(Path.of("/proc/" + pid + "/status"));
        assertTrue(Pattern.compile("(?m)^Uid:\\t100000\\t100000\\t100000\\t100000$").matcher(status).find(), status);
        assertTrue(Pattern.compile("(?m)^Gid:\\t100000\\t").matcher(status).find(), status);
        assertEquals("0 100000 65536", podman("exec", "userns", "cat", "/proc/self/uid_map").ok().out().trim()
                .replaceAll("\\s+", " "));
    }

    @Test
    void pauseFreezesAndUnpauseThaws() throws Exception {
        run("-d", "--name", "frozen", IMAGE, "sh", "-c", "while :; do echo tick; sleep 0.05; done").ok();
        int pid = Integer.parseInt(inspect("frozen", "{{.State.Pid}}"));
        podman("pause", "frozen").ok();
        assertEquals("paused", inspect("frozen", "{{.State.Status}}"));
        String freezer = cgroupDir("freezer", pid);
        assertEquals("FROZEN", read(freezer, "freezer.state"));
        // a frozen task sleeps uninterruptibly in the v1 freezer: "D"
        assertTrue(procState(pid).startsWith("D"), procState(pid));
        long ticks = ticks("frozen");
        Thread.sleep(300);
        assertEquals(ticks, ticks("frozen"), "nothing runs while paused");

        podman("unpause", "frozen").ok();
        assertEquals("running", inspect("frozen", "{{.State.Status}}"));
        assertEquals("THAWED", read(freezer, "freezer.state"));
        Poll.until(() -> ticks("frozen") > ticks, "output after unpause");
    }

    @Test
    void userAndPrivileged() throws Exception {
        // (podman adds the user to the container's /etc/passwd: "uid=1000(1000)")
        Pattern user1000 = Pattern.compile("uid=1000\\S* gid=1000\\S* groups=1000\\S*\n");
        Result user = run("--rm", "--user", "1000:1000", "--workdir", "/tmp", IMAGE, "sh", "-c", "id; pwd").ok();
        assertTrue(Pattern.compile(user1000.pattern() + "/tmp\n").matcher(user.out()).matches(), user.out());
        run("-d", "--name", "users", IMAGE, "sleep", "300").ok();
        // exec: no supplementary groups (as with runc)
        assertEquals("uid=1000 gid=1000\n", podman("exec", "--user", "1000:1000", "users", "id").ok().out());
        // --privileged: every capability, and the host's devices (podman gives their fileMode with the type bits)
        Result priv = run("--rm", "--privileged", IMAGE, "sh", "-c", "grep ^CapEff /proc/self/status; ls -l /dev/null")
                .ok();
        assertTrue(priv.out().contains("CapEff:\t000001ff"), priv.out());
        assertTrue(priv.out().contains("crw-rw-rw-"), priv.out());
    }

    @Test
    void preservedDescriptorsReachTheContainer() throws Exception {
        Path secret = home.resolve("secret");
        Files.writeString(secret, "passed along\n");
        // podman's descriptor 3 becomes the container process's descriptor 3 (--preserve-fds for the runtime)
        List<String> cmd = podmanCommand("run", "--rm", "--cgroup-parent", cgroupParent, "--preserve-fds", "1", IMAGE,
                "cat", "/proc/self/fd/3");
        Result r = exec(List.of("sh", "-c", "exec " + quote(cmd) + " 3<" + quote(List.of(secret.toString()))));
        assertEquals("passed along\n", r.ok().out());
    }

    @Test
    void logsOfStdoutAndStderr() throws Exception {
        run("-d", "--name", "talk", IMAGE, "sh", "-c", "echo to-out; echo to-err >&2; exit 4").ok();
        assertEquals("4\n", podman("wait", "talk").ok().out());
        Result logs = podman("logs", "talk").ok();
        assertEquals("to-out\n", logs.out());
        assertEquals("to-err\n", logs.err());
    }

    // ---------------------------------------------------------------- helpers

    /** podman with its global options: every piece of its state under {@link #home}, vessel-runtime as runtime. */
    private List<String> podmanCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman",
                "--root", home.resolve("root").toString(),
                "--runroot", home.resolve("runroot").toString(),
                "--tmpdir", home.resolve("tmp").toString(),
                "--storage-driver", driver,
                "--cgroup-manager", "cgroupfs",
                "--events-backend", "file",
                "--runtime", Bundle.repo().resolve("vessel-runtime").toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private ProcessBuilder withEnv(ProcessBuilder pb) {
        pb.environment().put("CONTAINERS_CONF", home.resolve("containers.conf").toString());
        pb.environment().put("CONTAINERS_STORAGE_CONF", home.resolve("storage.conf").toString());
        return pb;
    }

    Result podman(String... args) throws IOException, InterruptedException {
        return exec(podmanCommand(args));
    }

    /** podman run with the test's cgroup parent (conmon's cgroup goes below it too). */
    Result run(String... args) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("run", "--cgroup-parent", cgroupParent));
        all.addAll(List.of(args));
        return podman(all.toArray(String[]::new));
    }

    /** podman under script(1): its stdin, stdout and stderr are a terminal; the output is the terminal's. */
    Result underTerminal(String... args) throws IOException, InterruptedException {
        return exec(List.of("script", "-qec", quote(podmanCommand(args)), "/dev/null"));
    }

    /** The words as a shell command line, each single-quoted. */
    private static String quote(List<String> words) {
        StringBuilder line = new StringBuilder();
        for (String a : words) {
            line.append(line.isEmpty() ? "" : " ").append('\'').append(a.replace("'", "'\\''")).append('\'');
        }
        return line.toString();
    }

    private Result exec(List<String> cmd) throws IOException, InterruptedException {
        // files, not pipes: conmon and the container may hold on to inherited descriptors
        Path out = Files.createTempFile("podman", ".out");
        Path err = Files.createTempFile("podman", ".err");
        try {
            // in the test's directory: conmon leaves files (an "oom" marker) in its working directory
            Process p = withEnv(new ProcessBuilder(cmd)).directory(home.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", cmd) + " did not finish in 120 s");
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private String inspect(String name, String format) throws IOException, InterruptedException {
        return podman("inspect", "--format", format, name).ok().out().trim();
    }

    private long ticks(String name) throws IOException, InterruptedException {
        return podman("logs", name).ok().out().lines().filter("tick"::equals).count();
    }

    /** The directory of process {@code pid}'s cgroup in hierarchy {@code controller}, from /proc/PID/cgroup. */
    private static String cgroupDir(String controller, int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            String[] f = line.split(":", 3);
            if (List.of(f[1].split(",")).contains(controller)) {
                return CGROUP.resolve(controller).toString() + f[2];
            }
        }
        throw new AssertionError("process " + pid + " is in no " + controller + " cgroup");
    }

    private static String read(String dir, String file) throws IOException {
        return Files.readString(Path.of(dir, file)).trim();
    }

    private static String procState(int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("State:")) {
                return line.substring(6).trim();
            }
        }
        return "";
    }


    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/bin", program))
                || Files.isExecutable(Path.of("/usr/libexec/podman", program));
    }

    /** Lazily unmounts whatever podman left mounted below {@code dir} (overlay merged dirs, shm), deepest first. */
    private static void unmountUnder(Path dir) throws IOException, InterruptedException {
        List<String> points = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mp = line.split(" ")[4].replace("\\040", " ");
            if (Path.of(mp).startsWith(dir)) {
                points.add(mp);
            }
        }
        points.sort(Comparator.comparing(String::length).reversed());
        for (String mp : points) {
            new ProcessBuilder("umount", "-l", mp).redirectErrorStream(true).start().waitFor();
        }
    }

    /** rmdir of the test's cgroup parent (and conmon's cgroup below it) in every hierarchy. */
    private void removeCgroupParent() throws IOException {
        try (Stream<Path> hierarchies = Files.list(CGROUP)) {
            for (Path h : hierarchies.toList()) {
                Path parent = Path.of(h.toString(), cgroupParent);
                if (!Files.isDirectory(parent)) {
                    continue;
                }
                try (Stream<Path> s = Files.walk(parent)) {
                    for (Path d : s.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(d);
                    }
                }
            }
        }
    }
}
