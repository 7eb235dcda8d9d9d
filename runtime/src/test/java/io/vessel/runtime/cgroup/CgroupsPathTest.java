package io.vessel.runtime.cgroup;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CgroupsPathTest {

    @Test
    void absoluteAndRelativePathsAreBothBelowTheHierarchyRoot() {
        assertEquals("/a/b", CgroupsPath.resolve("/a/b", "id"));
        assertEquals("/a/b", CgroupsPath.resolve("a/b", "id"));
        assertEquals("/a/b", CgroupsPath.resolve("//a/./b/", "id"));
    }

    @Test
    void noPathMeansVesselSlashId() {
        assertEquals("/vessel/abc", CgroupsPath.resolve(null, "abc"));
        assertEquals("/vessel/abc", CgroupsPath.resolve("", "abc"));
    }

    @Test
    void systemdFormBecomesSliceAndScope() {
        assertEquals("/machine.slice/libpod-abc.scope", CgroupsPath.resolve("machine.slice:libpod:abc", "x"));
        assertEquals("/system.slice/docker-abc.scope", CgroupsPath.resolve(":docker:abc", "x"));
        assertEquals("/user.slice/abc.scope", CgroupsPath.resolve("user.slice::abc", "x"));
    }

    @Test
    void escapingTheHierarchyOrNamingItsRootIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> CgroupsPath.resolve("/a/../../etc", "id"));
        assertTrue(e.getMessage().contains(".."), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CgroupsPath.resolve("/", "id"));
        assertThrows(IllegalArgumentException.class, () -> CgroupsPath.resolve(null, "../x"));
        assertThrows(IllegalArgumentException.class, () -> CgroupsPath.resolve("..:p:n", "id"));
    }
}
