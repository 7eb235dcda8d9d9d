package io.vessel.runtime.cgroup;

import io.vessel.json.Json;
import io.vessel.runtime.spec.Resources;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.vessel.runtime.cgroup.TestSupport.read;
import static io.vessel.runtime.cgroup.TestSupport.resources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The v1 manager on this host's real hierarchies (a hybrid: v1 controllers, name=systemd and an
 * empty cgroup2 at /sys/fs/cgroup/unified). Each test makes a cgroup of a unique name at the
 * hierarchy roots and removes it afterwards, whatever happened.
 */
@Timeout(60)
class V1ControlGroupTest {
    private Hierarchies host;
    private String name;
    private ControlGroup cg;
    private final List<Child> children = new ArrayList<>();
    private java.util.Set<String> unifiedSubtreeBefore = Set.of();

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(TestSupport.isRoot(), "needs root");
        host = Hierarchies.detect();
        assumeTrue(host.isV1(), "needs v1 controllers (a v1 or hybrid host)");
        name = TestSupport.uniqueName();
        cg = ControlGroup.forContainer("/" + name, "unused");
        if (host.unified() != null) {
            unifiedSubtreeBefore = new CgroupDir(host.unified()).words(Hierarchy.SUBTREE_CONTROL);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        if (cg == null) {
            return;
        }
        try {
            if (cg.isFrozen()) {
                cg.thaw();
            }
        } finally {
            for (Child c : children) {
                c.kill();
            }
            try {
                cg.destroy();
            } finally {
                for (String dir : cg.paths().values()) {
                    new CgroupDir(Path.of(dir)).removeTree();
                }
                if (host.unified() != null) {
                    TestSupport.restoreSubtreeControl(host.unified(), unifiedSubtreeBefore);
                }
            }
        }
    }

    private Child child(Child c) {
        children.add(c);
        return c;
    }

    private String dir(String hierarchy) {
        return cg.paths().get(hierarchy);
    }

    @Test
    void createMakesADirectoryInEveryHierarchyAndAChildJoinsThemAll() throws Exception {
        assertInstanceOf(V1ControlGroup.class, cg);
        Map<String, String> paths = cg.paths();
        assertTrue(paths.containsKey("memory") && paths.containsKey("name=systemd"), paths.toString());
        assertEquals(host.unified() != null, paths.containsKey("unified"), "hybrid hosts track processes in the cgroup2 too");
        cg.create();
        for (String dir : paths.values()) {
            assertTrue(Files.isDirectory(Path.of(dir)), dir);
        }
        if (paths.containsKey("cpuset")) {
            assertFalse(read(dir("cpuset"), "cpuset.cpus").isEmpty(), "cpuset.cpus copied from the parent");
            assertFalse(read(dir("cpuset"), "cpuset.mems").isEmpty(), "cpuset.mems copied from the parent");
        }

        Child sleeper = child(Child.of("sleep", "30")).joining(cg);
        Map<String, String> seen = new HashMap<>();
        for (String line : sleeper.cgroups().split("\n")) {
            String[] f = line.split(":", 3);
            seen.put(f[0].equals("0") ? "unified" : f[1], f[2]);
        }
        for (String hierarchy : paths.keySet()) {
            String key = seen.keySet().stream().filter(k -> List.of(k.split(",")).contains(hierarchy)).findFirst()
                    .orElse(hierarchy);
            assertEquals("/" + name, seen.get(key), hierarchy + " in /proc/" + sleeper.pid() + "/cgroup:\n" + seen);
        }
        assertEquals(List.of(sleeper.pid()), cg.pids());

        ControlGroup reloaded = ControlGroup.load(cg.paths());
        assertInstanceOf(V1ControlGroup.class, reloaded);
        assertEquals(cg.paths(), reloaded.paths());
        assertEquals(List.of(sleeper.pid()), reloaded.pids());
    }

    @Test
    void appliesLimitsAndReadsThemBack() throws Exception {
        cg.create();
        String disk = TestSupport.diskDevice();
        String[] majMin = disk == null ? new String[] {"0", "0"} : disk.split(":");
        cg.apply(resources("""
                {"memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 10,
                            "disableOOMKiller": true},
                 "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
                 "pids": {"limit": 10},
                 "blockIO": {"weight": 500%s},
                 "devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                             {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"}]}
                """.formatted(disk == null ? "" : """
                , "throttleReadBpsDevice": [{"major": %s, "minor": %s, "rate": 1048576}]""".formatted(majMin[0], majMin[1]))));

        assertEquals("67108864", read(dir("memory"), "memory.limit_in_bytes"));
        assertEquals("33554432", read(dir("memory"), "memory.soft_limit_in_bytes"));
        if (Files.exists(Path.of(dir("memory"), "memory.memsw.limit_in_bytes"))) {
            assertEquals("134217728", read(dir("memory"), "memory.memsw.limit_in_bytes"));
        }
        assertEquals("10", read(dir("memory"), "memory.swappiness"));
        assertTrue(read(dir("memory"), "memory.oom_control").contains("oom_kill_disable 1"));
        assertEquals("512", read(dir("cpu"), "cpu.shares"));
        assertEquals("50000", read(dir("cpu"), "cpu.cfs_quota_us"));
        assertEquals("100000", read(dir("cpu"), "cpu.cfs_period_us"));
        assertEquals("0", read(dir("cpuset"), "cpuset.cpus"));
        assertEquals("0", read(dir("cpuset"), "cpuset.mems"));
        assertEquals("10", read(dir("pids"), "pids.max"));
        String weightFile = Files.exists(Path.of(dir("blkio"), "blkio.weight")) ? "blkio.weight" : "blkio.bfq.weight";
        assertTrue(read(dir("blkio"), weightFile).matches("(default )?500"), read(dir("blkio"), weightFile));
        if (disk != null) {
            assertEquals(disk + " 1048576", read(dir("blkio"), "blkio.throttle.read_bps_device"));
        }
        assertEquals("c 1:3 rwm\nc 1:5 r", read(dir("devices"), "devices.list"));

        cg.apply(resources("""
                {"pids": {"limit": 0}, "cpu": {"quota": -1}}"""));
        assertEquals("max", read(dir("pids"), "pids.max"));
        assertEquals("-1", read(dir("cpu"), "cpu.cfs_quota_us"));
    }

    @Test
    void memoryAndSwapAreWrittenInAnOrderTheKernelAcceptsBothWays() throws Exception {
        cg.create();
        assumeTrue(Files.exists(Path.of(dir("memory"), "memory.memsw.limit_in_bytes")), "needs swap accounting");
        long mb = 1 << 20;
        long[][] steps = {{100 * mb, 200 * mb}, {50 * mb, 60 * mb}, {300 * mb, 400 * mb}, {10 * mb, 10 * mb}};
        for (long[] s : steps) {
            cg.apply(resources("{\"memory\": {\"limit\": %d, \"swap\": %d}}".formatted(s[0], s[1])));
            assertEquals(Long.toString(s[0]), read(dir("memory"), "memory.limit_in_bytes"));
            assertEquals(Long.toString(s[1]), read(dir("memory"), "memory.memsw.limit_in_bytes"));
        }
        cg.apply(resources("{\"memory\": {\"limit\": -1}}"));
        assertTrue(Long.parseLong(read(dir("memory"), "memory.limit_in_bytes")) > (1L << 62), "unlimited again");
    }

    @Test
    void aPidsLimitOfOneStopsTheShellFromForking() throws Exception {
        cg.create();
        cg.apply(resources("{\"pids\": {\"limit\": 1}}"));
        Child sh = child(Child.gated("sleep 1 & sleep 1")).joining(cg);
        sh.release();
        int status = sh.waitFor();
        String err = sh.stderr();
        assertNotEquals(0, status, err);
        assertTrue(err.contains("fork") || err.contains("Resource temporarily unavailable"), err);
        assertTrue(read(dir("pids"), "pids.events").matches("max [1-9][0-9]*"), read(dir("pids"), "pids.events"));
    }

    @Test
    void freezeStopsAProcessAndThawLetsItRun() throws Exception {
        cg.create();
        Child spinner = child(Child.of("sh", "-c", "while :; do :; done")).joining(cg);
        assertTrue(TestSupport.eventually(() -> spinner.state().startsWith("R")), spinner.state());
        cg.freeze();
        assertTrue(cg.isFrozen());
        assertFalse(spinner.state().startsWith("R"), "frozen, yet " + spinner.state());
        long ticks = spinner.cpuTicks();
        Thread.sleep(300);
        assertEquals(ticks, spinner.cpuTicks(), "no CPU time while frozen");
        cg.thaw();
        assertFalse(cg.isFrozen());
        assertTrue(TestSupport.eventually(() -> spinner.cpuTicks() > ticks), "runs again after thaw");
    }

    @Test
    void deviceRulesStopReadingDevZero() throws Exception {
        cg.create();
        cg.apply(resources("""
                {"devices": [{"allow": true, "access": "rwm"},
                             {"allow": false, "type": "c", "major": 1, "minor": 5, "access": "rwm"}]}"""));
        String script = "head -c 1 /dev/zero >/dev/null && echo ok || echo denied";
        Child denied = child(Child.gated(script)).joining(cg);
        denied.release();
        assertEquals("denied", denied.readLine());
        assertTrue(denied.stderr().contains("Operation not permitted"));

        cg.apply(resources("""
                {"devices": [{"allow": true, "access": "rwm"}]}"""));
        Child allowed = child(Child.gated(script)).joining(cg);
        allowed.release();
        assertEquals("ok", allowed.readLine());
    }

    @Test
    void statsShowTheMemoryAProcessUses() throws Exception {
        cg.create();
        Child eater = child(Child.gated("x=$(head -c 8000000 /dev/zero | tr '\\0' a); echo allocated; read y"))
                .joining(cg);
        eater.release();
        assertEquals("allocated", eater.readLine());
        Stats s = cg.stats();
        assertTrue(s.memory().usage().usage() > 1_000_000, "memory use " + s.memory().usage());
        assertTrue(s.cpu().usage().total() > 0, "CPU use " + s.cpu().usage());
        assertEquals(1, s.pids().current());
        String json = Json.write(s.toJson());
        assertTrue(json.startsWith("{\"cpu\":{\"usage\":{\"total\":"), json);
    }

    @Test
    void destroyRemovesEveryDirectoryRightAfterAKill() throws Exception {
        cg.create();
        Path nested = Path.of(dir("memory"), "nested");
        Files.createDirectory(nested);
        Child victim = child(Child.of("sleep", "30")).joining(cg);
        Files.writeString(nested.resolve("cgroup.procs"), Integer.toString(victim.pid()));
        ProcessHandle.of(victim.pid()).orElseThrow().destroyForcibly();
        cg.destroy();
        for (String dir : cg.paths().values()) {
            assertFalse(Files.exists(Path.of(dir)), dir + " is gone");
        }
        cg.destroy(); // again: nothing left to remove is fine
    }

    @Test
    void aBadValueNamesTheFileAndTheValue() throws Exception {
        cg.create();
        var e = assertThrows(CgroupException.class, () -> cg.apply(resources("""
                {"cpu": {"cpus": "99"}}""")));
        // the kernel's reason varies (ERANGE here, EINVAL elsewhere); the file and the value do not
        assertTrue(e.getMessage().startsWith("cgroup: writing 99 to " + dir("cpuset") + "/cpuset.cpus: "), e.getMessage());
        assertTrue(e.errno() != 0);
    }

    @Test
    void hugetlbGoesToTheCgroup2WhereOnlyItOffersTheController() throws Exception {
        assumeTrue(!host.v1().containsKey("hugetlb") && host.unified() != null
                && new CgroupDir(host.unified()).words(Hierarchy.AVAILABLE).contains("hugetlb"),
                "needs a hybrid host whose hugetlb controller is on the cgroup2, as this one's is");
        assumeTrue(Hugetlb.pageSizes().contains("2MB"), "needs 2 MB huge pages");
        cg.create();
        cg.apply(resources("""
                {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"""));
        assertEquals("4194304", read(dir("unified"), "hugetlb.2MB.max"));
        assertTrue(cg.stats().hugetlb().containsKey("2MB"));
    }

    @Test
    void unifiedKeysNeedACgroup2() throws Exception {
        cg.create();
        Resources unified = resources("""
                {"unified": {"cgroup.max.descendants": "5"}}""");
        if (host.unified() != null) {
            cg.apply(unified);
            assertEquals("5", read(dir("unified"), "cgroup.max.descendants"));
        }
        Map<String, Hierarchy> v1Only = new LinkedHashMap<>();
        v1Only.put("memory", Hierarchy.at("memory", host.v1().get("memory"), "/" + name));
        var e = assertThrows(CgroupException.class, () -> new V1ControlGroup(v1Only).apply(unified));
        assertEquals("cgroup: linux.resources.unified needs cgroup v2", e.getMessage());
    }
}
