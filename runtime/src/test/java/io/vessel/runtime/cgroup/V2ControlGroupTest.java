package io.vessel.runtime.cgroup;

import io.vessel.linux.Bpf;
import io.vessel.linux.Fd;
import io.vessel.linux.Files;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.vessel.runtime.cgroup.TestSupport.read;
import static io.vessel.runtime.cgroup.TestSupport.resources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The v2 manager on this host's real cgroup2. Here that is /sys/fs/cgroup/unified of a hybrid host:
 * it offers no memory, cpu, io or pids controller (those live on v1; their v2 files are covered
 * with stand-in files by {@link V2ControllersTest}), but it does freeze and run device programs,
 * which are tested here for real, as is hugetlb, the one controller it offers.
 */
@Timeout(60)
class V2ControlGroupTest {
    private Path mount;
    private String name;
    private ControlGroup cg;
    private final List<Child> children = new ArrayList<>();
    private Set<String> subtreeBefore;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(TestSupport.isRoot(), "needs root");
        mount = Hierarchies.detect().unified();
        assumeTrue(mount != null, "needs a cgroup2 mount");
        name = TestSupport.uniqueName();
        subtreeBefore = new CgroupDir(mount).words(Hierarchy.SUBTREE_CONTROL);
        cg = ControlGroup.load(Map.of("unified", mount.resolve(name).toString()));
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
                new CgroupDir(mount.resolve(name)).removeTree();
                TestSupport.restoreSubtreeControl(mount, subtreeBefore);
            }
        }
    }

    private Child child(Child c) {
        children.add(c);
        return c;
    }

    private String dir() {
        return cg.paths().get("unified");
    }

    @Test
    void createTracksProcessesInTheCgroupAndBelowIt() throws Exception {
        assertInstanceOf(V2ControlGroup.class, cg);
        cg.create();
        assertEquals(List.of(dir() + "/cgroup.procs"), cg.procsFiles());
        Child a = child(Child.of("sleep", "30")).joining(cg);
        assertTrue(a.cgroups().contains("0::/" + name + "\n"), a.cgroups());
        Path sub = Path.of(dir(), "sub");
        java.nio.file.Files.createDirectory(sub);
        Child b = child(Child.of("sleep", "30"));
        java.nio.file.Files.writeString(sub.resolve("cgroup.procs"), Integer.toString(b.pid()));
        assertEquals(List.of(Math.min(a.pid(), b.pid()), Math.max(a.pid(), b.pid())), cg.pids());

        ProcessHandle.of(b.pid()).orElseThrow().destroyForcibly();
        ProcessHandle.of(a.pid()).orElseThrow().destroyForcibly();
        cg.destroy();
        assertFalse(java.nio.file.Files.exists(Path.of(dir())), "removed right after the kill");
    }

    @Test
    void freezeStopsAProcessAndThawLetsItRun() throws Exception {
        cg.create();
        Child spinner = child(Child.of("sh", "-c", "while :; do :; done")).joining(cg);
        assertTrue(TestSupport.eventually(() -> spinner.state().startsWith("R")), spinner.state());
        cg.freeze();
        assertTrue(cg.isFrozen());
        assertTrue(read(dir(), "cgroup.events").contains("frozen 1"));
        assertFalse(spinner.state().startsWith("R"), "frozen, yet " + spinner.state());
        long ticks = spinner.cpuTicks();
        Thread.sleep(300);
        assertEquals(ticks, spinner.cpuTicks(), "no CPU time while frozen");
        cg.thaw();
        assertFalse(cg.isFrozen());
        assertTrue(TestSupport.eventually(() -> spinner.cpuTicks() > ticks), "runs again after thaw");
    }

    private String devZero() throws Exception {
        Child c = child(Child.gated("head -c 1 /dev/zero >/dev/null && echo ok || echo denied")).joining(cg);
        c.release();
        return c.readLine();
    }

    private int attachedPrograms() throws Exception {
        try (Fd fd = Files.open(dir(), Files.O_RDONLY | Files.O_DIRECTORY | Files.O_CLOEXEC, 0)) {
            return Bpf.progQuery(fd.num(), Bpf.BPF_CGROUP_DEVICE).length;
        }
    }

    @Test
    void aDeviceProgramDeniesAndAllowsAndReplacesTheOneBefore() throws Exception {
        cg.create();
        assertEquals("ok", devZero(), "no program yet");

        cg.apply(resources("""
                {"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}"""));
        assertEquals("denied", devZero(), "only /dev/null is allowed");
        assertEquals(1, attachedPrograms());

        cg.apply(resources("""
                {"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                             {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"}]}"""));
        assertEquals("ok", devZero(), "/dev/zero readable now");
        assertEquals(1, attachedPrograms(), "the new program replaced the old one");

        cg.apply(resources("""
                {"devices": [{"allow": true, "access": "rwm"},
                             {"allow": false, "type": "c", "major": 1, "minor": 5, "access": "r"}]}"""));
        assertEquals("denied", devZero(), "everything but reading /dev/zero");
        assertEquals(1, attachedPrograms());
    }

    @Test
    void hugetlbIsWrittenWhereTheCgroup2OffersIt() throws Exception {
        assumeTrue(new CgroupDir(mount).words(Hierarchy.AVAILABLE).contains("hugetlb"), "needs hugetlb on cgroup2");
        assumeTrue(Hugetlb.pageSizes().contains("2MB"), "needs 2 MB huge pages");
        cg.create();
        cg.apply(resources("""
                {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"""));
        assertEquals("4194304", read(dir(), "hugetlb.2MB.max"));
        assertTrue(cg.stats().hugetlb().containsKey("2MB"));
    }

    @Test
    void aControllerTheCgroup2DoesNotOfferIsNamedInTheError() throws Exception {
        assumeTrue(!new CgroupDir(mount).words(Hierarchy.AVAILABLE).contains("memory"),
                "only where the cgroup2 lacks the memory controller, as this host's does");
        cg.create();
        var e = assertThrows(CgroupException.class, () -> cg.apply(resources("""
                {"memory": {"limit": 67108864}}""")));
        assertTrue(e.getMessage().startsWith("cgroup: linux.resources needs the memory controller, which is not"
                + " enabled for " + dir()), e.getMessage());
        Stats s = cg.stats(); // files of absent controllers read as zeros
        assertEquals(0, s.memory().usage().usage());
    }
}
