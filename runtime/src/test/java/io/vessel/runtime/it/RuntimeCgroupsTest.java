package io.vessel.runtime.it;

import io.vessel.json.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code linux.resources} through the real command: each limit is checked from outside, in the files
 * under /sys/fs/cgroup/&lt;controller&gt;/&lt;cgroupsPath&gt;, and from inside, by what a process in the
 * container can (not) do. Then the commands that work on the cgroup: pause, resume, events --stats,
 * update, ps, kill --all and delete. Written for the v1 (and hybrid) hierarchies this host has.
 */
class RuntimeCgroupsTest {
    private static final Path CGROUP = Path.of("/sys/fs/cgroup");
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;
    RuntimeCli rt;
    Bundle bundle;
    /** Every container's cgroup lies below this parent, removed after each test. */
    String parent;
    /** Loop devices made by the test, detached after it. */
    final List<String> loops = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        Root.assume();
        Assumptions.assumeTrue(Files.isDirectory(CGROUP.resolve("memory"))
                        && Files.isDirectory(CGROUP.resolve("freezer")),
                "these tests read the cgroup v1 hierarchies (memory, cpu, pids, blkio, devices, freezer)");
        rt = new RuntimeCli(tmp.resolve("state"));
        bundle = Bundle.create(tmp);
        parent = "vessel-cgtest-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (rt == null) {
            return;
        }
        for (String id : rt.run("list", "-q").out().lines().toList()) {
            rt.run("delete", "--force", id);
        }
        for (String loop : loops) {
            new ProcessBuilder("losetup", "--detach", loop).redirectErrorStream(true).start().waitFor();
        }
        try (Stream<Path> hierarchies = Files.list(CGROUP)) {
            for (Path h : hierarchies.toList()) {
                for (Path p : List.of(h.resolve(parent), h.resolve(parent + ".slice"))) {
                    if (!Files.isDirectory(p)) {
                        continue;
                    }
                    try (Stream<Path> s = Files.walk(p)) {
                        for (Path d : s.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
                            Files.deleteIfExists(d);
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- limits

    @Test
    void memoryLimitIsEnforcedByTheOomKiller() throws Exception {
        start("mem", r -> r.put("memory", Map.of("limit", 32 * MIB, "swap", 32 * MIB)), "sleep", "300");
        assertEquals(Long.toString(32 * MIB), file("memory", "mem", "memory.limit_in_bytes"));
        assertEquals(Long.toString(32 * MIB), file("memory", "mem", "memory.memsw.limit_in_bytes"));
        assertEquals(32 * MIB + "\n", exec("mem", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes").ok().out());
        // dd's 200 MiB buffer cannot fit: the kernel kills it, and only it
        RuntimeCli.Result dd = exec("mem", "dd if=/dev/zero of=/dev/null bs=200M count=1");
        assertEquals(137, dd.exit(), dd.err());
        assertTrue(file("memory", "mem", "memory.oom_control").contains("oom_kill 1"),
                file("memory", "mem", "memory.oom_control"));
        assertEquals("running", status("mem"));
        // a small allocation is fine
        assertEquals(0, exec("mem", "dd if=/dev/zero of=/dev/null bs=8M count=1").exit());
    }

    @Test
    void pidsLimitStopsForking() throws Exception {
        start("pids", r -> r.put("pids", Map.of("limit", 10)), "sleep", "300");
        assertEquals("10", file("pids", "pids", "pids.max"));
        assertEquals("10\n", exec("pids", "cat /sys/fs/cgroup/pids/pids.max").ok().out());
        RuntimeCli.Result r = exec("pids", "i=0; while [ $i -lt 20 ]; do sleep 300 & i=$((i+1)); done; echo tried $i");
        assertTrue(r.err().contains("can't fork"), r.out() + r.err());
        assertTrue(Long.parseLong(file("pids", "pids", "pids.current")) <= 10);
        assertTrue(Long.parseLong(file("pids", "pids", "pids.events").replaceAll("\\D+", " ").trim()) > 0,
                "pids.events counts the refused forks");
    }

    @Test
    void cpuQuotaThrottles() throws Exception {
        start("cpu", r -> r.put("cpu", Map.of("quota", 20000, "period", 100000, "shares", 512)), "sleep", "300");
        assertEquals("20000", file("cpu", "cpu", "cpu.cfs_quota_us"));
        assertEquals("100000", file("cpu", "cpu", "cpu.cfs_period_us"));
        assertEquals("512", file("cpu", "cpu", "cpu.shares"));
        assertEquals("20000 100000\n", exec("cpu",
                "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)")
                .ok().out());
        // a second of spinning at 20% of a CPU: most periods end throttled
        exec("cpu", "timeout 1 sh -c 'while :; do :; done'");
        Map<String, Long> stat = keyed(file("cpu", "cpu", "cpu.stat"));
        assertTrue(stat.get("nr_throttled") >= 5, stat.toString());
        JsonNode stats = stats("cpu");
        assertTrue(stats.get("data").get("cpu").get("throttling").get("throttledPeriods").longValue() >= 5,
                stats.get("data").get("cpu").toString());
    }

    @Test
    void blkioThrottleOnTheHostsDiskAndOnALoopDevice() throws Exception {
        Disk disk = rootDisk();
        // The host's disk itself cannot be opened here (not even by root on the host): its throttle is
        // checked in the file; a loop device shows the throttle at work.
        Disk loop = loopDevice();
        mountDevice(loop);
        start("io", r -> {
            r.put("blockIO", Map.of("throttleReadBpsDevice", List.of(
                    Map.of("major", disk.major, "minor", disk.minor, "rate", MIB),
                    Map.of("major", loop.major, "minor", loop.minor, "rate", MIB))));
            allow(r, loop, "r");
        }, "sleep", "300");
        List<String> rules = file("blkio", "io", "blkio.throttle.read_bps_device").lines().toList();
        assertTrue(rules.contains(disk.major + ":" + disk.minor + " " + MIB), rules.toString());
        assertTrue(rules.contains(loop.major + ":" + loop.minor + " " + MIB), rules.toString());
        // 3 MiB read directly from the device at 1 MiB/s take two seconds at least
        RuntimeCli.Result r = exec("io", "time dd if=/dev/testdisk of=/dev/null bs=64k count=48 iflag=direct");
        assertEquals(0, r.exit(), r.err());
        Matcher m = Pattern.compile("real\\s+(\\d+)m\\s*([\\d.]+)s").matcher(r.err());
        assertTrue(m.find(), r.err());
        double seconds = Integer.parseInt(m.group(1)) * 60 + Double.parseDouble(m.group(2));
        assertTrue(seconds >= 1.8, "3 MiB at 1 MiB/s took only " + seconds + " s");
        assertTrue(file("blkio", "io", "blkio.throttle.io_service_bytes")
                .contains(loop.major + ":" + loop.minor + " Read " + 3 * MIB));
    }

    @Test
    void deviceRulesAllowAndDeny() throws Exception {
        Disk loop = loopDevice();
        mountDevice(loop);
        String dev = "b " + loop.major + ":" + loop.minor;
        // the default rules deny every device but the standard ones
        start("denied", r -> {
        }, "sleep", "300");
        assertFalse(file("devices", "denied", "devices.list").contains(dev));
        RuntimeCli.Result denied = exec("denied", "head -c 512 /dev/testdisk | wc -c");
        assertTrue(denied.err().contains("Operation not permitted"), denied.err());
        assertEquals("0\n", denied.out());
        assertEquals("10\n", exec("denied", "head -c 10 /dev/zero | wc -c").ok().out(), "standard devices work");

        start("allowed", r -> allow(r, loop, "r"), "sleep", "300");
        assertTrue(file("devices", "allowed", "devices.list").contains(dev + " r"),
                file("devices", "allowed", "devices.list"));
        assertEquals("512\n", exec("allowed", "head -c 512 /dev/testdisk | wc -c").ok().out());
        // read access only: opening it for writing is refused
        RuntimeCli.Result write = exec("allowed", "true > /dev/testdisk");
        assertTrue(write.err().contains("Operation not permitted"), write.err());
    }

    // ---------------------------------------------------------------- commands on the cgroup

    @Test
    void pauseAndResumeFreezeTheProcesses() throws Exception {
        int pid = start("frz", r -> {
        }, "sh", "-c", "while :; do sleep 0.05; done");
        rt.run("pause", "frz").ok();
        assertEquals("paused", status("frz"));
        assertEquals("FROZEN", file("freezer", "frz", "freezer.state"));
        assertTrue(procState(pid).startsWith("D"), procState(pid));
        assertEquals(1, rt.run("pause", "frz").exit(), "a paused container cannot be paused again");
        RuntimeCli.Result execPaused = exec("frz", "true");
        assertEquals(1, execPaused.exit(), "exec into a paused container is refused");

        rt.run("resume", "frz").ok();
        assertEquals("running", status("frz"));
        assertEquals("THAWED", file("freezer", "frz", "freezer.state"));
        assertEquals(1, rt.run("resume", "frz").exit(), "a running container cannot be resumed");
        // a paused container is killed by kill + delete --force
        rt.run("pause", "frz").ok();
        rt.run("delete", "--force", "frz").ok();
        assertFalse(Files.exists(cgroupDir("freezer", "frz")));
    }

    @Test
    void eventsStatsReportsUsage() throws Exception {
        start("ev", r -> {
            r.put("memory", Map.of("limit", 64 * MIB));
            r.put("pids", Map.of("limit", 50));
        }, "sh", "-c", "sleep 300 & sleep 300 & wait");
        Poll.until(() -> procs("ev").size() == 3, "three processes in the cgroup");
        JsonNode stats = stats("ev");
        assertEquals("stats", stats.get("type").string());
        assertEquals("ev", stats.get("id").string());
        JsonNode mem = stats.get("data").get("memory").get("usage");
        assertEquals(64 * MIB, mem.get("limit").longValue());
        assertTrue(mem.get("usage").longValue() > 0, mem.toString());
        assertEquals(3, stats.get("data").get("pids").get("current").longValue());
        assertEquals(50, stats.get("data").get("pids").get("limit").longValue());
        assertTrue(stats.get("data").get("cpu").get("usage").get("total").longValue() > 0);
    }

    @Test
    void updateChangesTheLimits() throws Exception {
        start("upd", r -> {
            r.put("memory", Map.of("limit", 64 * MIB));
            r.put("pids", Map.of("limit", 20));
        }, "sleep", "300");
        rt.run("update", "--memory", "96m", "--pids-limit", "30", "--cpu-quota", "50000", "--cpu-period", "100000",
                "upd").ok();
        assertEquals(Long.toString(96 * MIB), file("memory", "upd", "memory.limit_in_bytes"));
        assertEquals("30", file("pids", "upd", "pids.max"));
        assertEquals("50000", file("cpu", "upd", "cpu.cfs_quota_us"));
        // the runc way containerd and podman use: the resources as JSON on stdin
        rt.withInput("""
                {"memory": {"limit": %d, "swap": %d}, "pids": {"limit": 40}, "cpu": {"shares": 256}}
                """.formatted(48 * MIB, 96 * MIB), "update", "--resources", "-", "upd").ok();
        assertEquals(Long.toString(48 * MIB), file("memory", "upd", "memory.limit_in_bytes"));
        assertEquals(Long.toString(96 * MIB), file("memory", "upd", "memory.memsw.limit_in_bytes"));
        assertEquals("40", file("pids", "upd", "pids.max"));
        assertEquals("256", file("cpu", "upd", "cpu.shares"));
        assertEquals(48 * MIB + "\n", exec("upd", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes").ok().out());
        // and from a file
        Path res = tmp.resolve("resources.json");
        Files.writeString(res, "{\"pids\": {\"limit\": 5}}");
        rt.run("update", "--resources", res.toString(), "upd").ok();
        assertEquals("5", file("pids", "upd", "pids.max"));
        assertEquals(Long.toString(48 * MIB), file("memory", "upd", "memory.limit_in_bytes"), "unnamed limits stay");
    }

    @Test
    void psListsTheContainersProcesses() throws Exception {
        int pid = start("ps", r -> {
        }, "sh", "-c", "sleep 300 & sleep 301 & wait");
        Poll.until(() -> procs("ps").size() == 3, "three processes in the cgroup");
        JsonNode json = JsonNode.parse("ps", rt.run("ps", "--format", "json", "ps").ok().out());
        List<Long> pids = json.elements().stream().map(JsonNode::longValue).toList();
        assertEquals(procs("ps"), pids);
        assertTrue(pids.contains((long) pid));
        String table = rt.run("ps", "ps").ok().out();
        List<String> lines = table.lines().toList();
        assertTrue(lines.getFirst().contains("PID"), table);
        assertEquals(4, lines.size(), table);
        assertTrue(table.contains("sleep 301") && table.contains("sleep 300"), table);
        assertTrue(rt.run("ps", "ps", "-o", "pid,comm").ok().out().lines().skip(1)
                .allMatch(l -> l.trim().matches("\\d+ (sh|sleep)")));
    }

    @Test
    void killAllSignalsEveryProcess() throws Exception {
        start("ka", r -> {
        }, "sh", "-c", "sleep 300 & sleep 300 & wait");
        Poll.until(() -> procs("ka").size() == 3, "three processes in the cgroup");
        List<Long> before = procs("ka");
        rt.run("kill", "--all", "ka", "KILL").ok();
        Poll.until(() -> status("ka").equals("stopped"), "the container to stop");
        Poll.until(() -> procs("ka").isEmpty(), "the cgroup to empty");
        for (long p : before) {
            // gone, or a zombie its new parent has not reaped yet
            assertTrue(!Files.exists(Path.of("/proc/" + p)) || procState((int) p).startsWith("Z"),
                    "process " + p + " was killed");
        }
        // kill --all of a stopped container is no error (runc: nothing to signal)
        rt.run("kill", "--all", "ka", "KILL").ok();
    }

    @Test
    void deleteRemovesTheCgroupInEveryHierarchy() throws Exception {
        start("del", r -> r.put("memory", Map.of("limit", 64 * MIB)), "sleep", "300");
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> hierarchies = Files.list(CGROUP)) {
            for (Path h : hierarchies.filter(Files::isDirectory).toList()) {
                Path d = h.resolve(parent).resolve("del");
                if (Files.isDirectory(d)) {
                    dirs.add(d);
                }
            }
        }
        assertTrue(dirs.size() >= 6, "a cgroup in each hierarchy: " + dirs);
        rt.run("kill", "del", "KILL").ok();
        Poll.until(() -> status("del").equals("stopped"), "the container to stop");
        rt.run("delete", "del").ok();
        for (Path d : dirs) {
            assertFalse(Files.exists(d), d + " was removed");
        }
        assertFalse(Files.exists(rt.root.resolve("del")));
    }

    @Test
    void systemdStyleCgroupsPathIsASliceAndScope() throws Exception {
        // "slice:prefix:name", as podman and CRI-O write it for systemd; done with cgroupfs here
        bundle.args("sleep", "300").edit(s -> Bundle.map(s, "linux").put("cgroupsPath", parent + ".slice:vessel:sd"))
                .write();
        rt.run("create", "--bundle", bundle.dir.toString(), "sd").ok();
        Path scope = CGROUP.resolve("memory").resolve(parent + ".slice").resolve("vessel-sd.scope");
        assertTrue(Files.isDirectory(scope), scope.toString());
        int pid = JsonNode.parse("state", rt.run("state", "sd").ok().out()).get("pid").intValue();
        assertTrue(Files.readString(Path.of("/proc/" + pid + "/cgroup"))
                .contains(":memory:/" + parent + ".slice/vessel-sd.scope\n"));
        rt.run("delete", "--force", "sd").ok();
        assertFalse(Files.exists(scope));
    }

    // ---------------------------------------------------------------- helpers

    /** Creates and starts container {@code id} with {@code resources} edited; returns its init's pid. */
    private int start(String id, Consumer<Map<String, Object>> resources, String... args) throws Exception {
        bundle.args(args).edit(s -> {
            Map<String, Object> linux = Bundle.map(s, "linux");
            linux.put("cgroupsPath", "/" + parent + "/" + id);
            Map<String, Object> r = new LinkedHashMap<>(Bundle.map(linux, "resources"));
            resources.accept(r);
            linux.put("resources", r);
        }).write();
        rt.run("create", "--bundle", bundle.dir.toString(), id).ok();
        rt.run("start", id).ok();
        bundle.edit(s -> Bundle.map(s, "linux").remove("resources"));
        // the next container starts from the default rules again
        bundle.edit(s -> Bundle.map(s, "linux").put("resources",
                new LinkedHashMap<>(Map.of("devices", List.of(Map.of("allow", false, "access", "rwm"))))));
        return JsonNode.parse("state", rt.run("state", id).ok().out()).get("pid").intValue();
    }

    private RuntimeCli.Result exec(String id, String script) throws Exception {
        return rt.run("exec", id, "sh", "-c", script);
    }

    private String status(String id) throws Exception {
        return JsonNode.parse("state", rt.run("state", id).ok().out()).get("status").string();
    }

    private JsonNode stats(String id) throws Exception {
        return JsonNode.parse("stats", rt.run("events", "--stats", id).ok().out());
    }

    private Path cgroupDir(String controller, String id) {
        return CGROUP.resolve(controller).resolve(parent).resolve(id);
    }

    private String file(String controller, String id, String name) throws IOException {
        return Files.readString(cgroupDir(controller, id).resolve(name)).trim();
    }

    /** The pids in the container's cgroup (the pids hierarchy), ascending. */
    private List<Long> procs(String id) throws IOException {
        return Files.readAllLines(cgroupDir("pids", id).resolve("cgroup.procs")).stream().map(Long::parseLong)
                .sorted().toList();
    }

    private static Map<String, Long> keyed(String text) {
        Map<String, Long> m = new LinkedHashMap<>();
        text.lines().map(l -> l.split(" ")).forEach(f -> m.put(f[0], Long.parseLong(f[1])));
        return m;
    }

    private static String procState(int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("State:")) {
                return line.substring(6).trim();
            }
        }
        return "";
    }

    record Disk(long major, long minor, Path node) {
    }

    /** The whole disk the host's root file system is on (the parent of a partition), as major:minor and node. */
    private static Disk rootDisk() throws IOException {
        String dev = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f[4].equals("/")) {
                dev = f[2];
            }
        }
        Path sys = dev == null ? null : Path.of("/sys/dev/block", dev);
        Assumptions.assumeTrue(sys != null && Files.exists(sys),
                "the root file system is on no block device (" + dev + ")");
        if (Files.exists(sys.resolve("partition"))) {
            sys = sys.toRealPath().getParent();
        }
        String[] mm = Files.readString(sys.resolve("dev")).trim().split(":");
        String name = null;
        for (String line : Files.readAllLines(sys.resolve("uevent"))) {
            if (line.startsWith("DEVNAME=")) {
                name = line.substring(8);
            }
        }
        return new Disk(Long.parseLong(mm[0]), Long.parseLong(mm[1]), Path.of("/dev", name));
    }

    /** A loop device over an 8 MiB file of zeros, detached after the test. */
    private Disk loopDevice() throws Exception {
        Path img = tmp.resolve("disk.img");
        try (var f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8 * MIB);
        }
        Process p = new ProcessBuilder("losetup", "--find", "--show", img.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        Assumptions.assumeTrue(p.waitFor() == 0 && out.startsWith("/dev/"), "no loop device: " + out);
        loops.add(out);
        String[] mm = Files.readString(Path.of("/sys/class/block", out.substring(5), "dev")).trim().split(":");
        return new Disk(Long.parseLong(mm[0]), Long.parseLong(mm[1]), Path.of(out));
    }

    /** The device node bound into the container at /dev/testdisk (a read-only mount). */
    private void mountDevice(Disk disk) {
        bundle.edit(s -> {
            List<Object> mounts = new ArrayList<>(Bundle.list(s, "mounts"));
            mounts.add(Map.of("destination", "/dev/testdisk", "type", "bind", "source", disk.node().toString(),
                    "options", List.of("bind", "ro")));
            s.put("mounts", mounts);
        });
    }

    private static void allow(Map<String, Object> resources, Disk disk, String access) {
        List<Object> rules = new ArrayList<>(Bundle.list(resources, "devices"));
        rules.add(Map.of("allow", true, "type", "b", "major", disk.major(), "minor", disk.minor(), "access", access));
        resources.put("devices", rules);
    }

}
