package io.vessel.runtime.cgroup;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HierarchiesTest {

    /** This host's table: v1 controllers, name=systemd, and a cgroup2 without controllers. */
    static final String HYBRID = """
            23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """;
    static final String PURE_V2 = """
            25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
            99 25 0:23 /user.slice /mnt/my\\040cgroup rw shared:4 - cgroup2 cgroup2 rw
            """;
    /** Older distributions co-mount cpu and cpuacct; a lone name=systemd beside a cgroup2 is still v2. */
    static final String CO_MOUNTED = """
            30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct
            31 25 0:27 / /sys/fs/cgroup/memory rw master:1 - cgroup cgroup rw,memory
            """;
    static final String V2_WITH_SYSTEMD_V1 = """
            25 22 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
            26 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
            """;

    @Test
    void hybridHasV1ControllersAndTheUnifiedMount() {
        Hierarchies h = Hierarchies.parse(HYBRID);
        assertTrue(h.isV1());
        assertEquals(Path.of("/sys/fs/cgroup/memory"), h.v1().get("memory"));
        assertEquals(Path.of("/sys/fs/cgroup/systemd"), h.v1().get("name=systemd"));
        assertEquals(Path.of("/sys/fs/cgroup/unified"), h.unified());
        assertEquals(Path.of("/sys/fs/cgroup/memory"), h.mountPointOf(Path.of("/sys/fs/cgroup/memory/a/b")));
    }

    @Test
    void pureV2PrefersTheUsualMountAndUnescapesNames() {
        Hierarchies h = Hierarchies.parse(PURE_V2);
        assertFalse(h.isV1());
        assertEquals(Path.of("/sys/fs/cgroup"), h.unified());
        assertEquals(Path.of("/mnt/my cgroup"), h.mountPointOf(Path.of("/mnt/my cgroup/x")));
    }

    @Test
    void coMountedControllersShareADirectory() {
        Hierarchies h = Hierarchies.parse(CO_MOUNTED);
        assertEquals(h.v1().get("cpu"), h.v1().get("cpuacct"));
        assertNull(h.unified());
        V1ControlGroup cg = V1ControlGroup.at(h, "/vessel/x");
        assertEquals("/sys/fs/cgroup/cpu,cpuacct/vessel/x", cg.paths().get("cpuacct"));
        assertEquals(2, cg.procsFiles().size(), "one cgroup.procs per distinct directory");
    }

    @Test
    void aLoneSystemdHierarchyDoesNotMakeAHostV1() {
        assertFalse(Hierarchies.parse(V2_WITH_SYSTEMD_V1).isV1());
    }

    @Test
    void thisHostIsDetectedFromItsOwnMountTable() {
        Hierarchies h = Hierarchies.detect();
        assertTrue(h.isV1() || h.unified() != null, "some cgroup hierarchy is mounted: " + h);
    }
}
