package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** A container's cgroup on a cgroup v2 host: one directory in the unified hierarchy. */
final class V2ControlGroup implements ControlGroup {
    /** Controllers enabled for a container's cgroup when the hierarchy offers them. */
    static final List<String> CONTROLLERS = List.of("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma",
            "misc");
    /** In the order written; unified keys last, to have the last word. */
    private static final List<Controller> APPLY_ORDER = List.of(new Cpuset(), new V2Devices(), new V2Memory(),
            new V2Cpu(), new Pids(), new V2Io(), Hugetlb.V2, new Unified());

    private final Hierarchy hierarchy;

    V2ControlGroup(Hierarchy hierarchy) {
        this.hierarchy = hierarchy;
    }

    private CgroupDir dir() {
        return hierarchy.dir();
    }

    @Override
    public Map<String, String> paths() {
        return Map.of(Hierarchies.UNIFIED, dir().toString());
    }

    @Override
    public void create() throws CgroupException {
        dir().mkdirs();
        hierarchy.enableControllers(CONTROLLERS);
    }

    @Override
    public void apply(Resources r) throws CgroupException {
        Set<String> enabled = dir().words(Hierarchy.AVAILABLE);
        for (Controller c : APPLY_ORDER) {
            if (!c.wants(r)) {
                continue;
            }
            if (c.name() != null && !enabled.contains(c.name())) {
                throw new CgroupException("cgroup: linux.resources needs the " + c.name()
                        + " controller, which is not enabled for " + dir() + " (its " + Hierarchy.AVAILABLE
                        + ": " + String.join(" ", enabled) + ")");
            }
            c.apply(dir(), r);
        }
    }

    @Override
    public List<String> procsFiles() {
        return List.of(hierarchy.procsFile());
    }

    @Override
    public void freeze() throws CgroupException {
        new Freezer.V2(dir()).freeze();
    }

    @Override
    public void thaw() throws CgroupException {
        new Freezer.V2(dir()).thaw();
    }

    @Override
    public boolean isFrozen() {
        try {
            return new Freezer.V2(dir()).isFrozen();
        } catch (CgroupException e) {
            return false;
        }
    }

    @Override
    public List<Integer> pids() throws CgroupException {
        return List.copyOf(new TreeSet<>(dir().procsRecursive()));
    }

    @Override
    public Stats stats() throws CgroupException {
        return V2Stats.read(dir());
    }

    @Override
    public long oomKills() throws CgroupException {
        return dir().keyed("memory.events").getOrDefault("oom_kill", 0L);
    }

    @Override
    public void destroy() throws CgroupException {
        dir().removeTree();
    }

    @Override
    public String toString() {
        return "cgroup v2 " + dir();
    }
}
