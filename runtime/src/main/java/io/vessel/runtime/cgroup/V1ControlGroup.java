package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A container's cgroup on a v1 host: one directory per mounted hierarchy. On a hybrid host also one
 * in the cgroup2 ("unified"), which tracks the processes there too, takes {@code unified} keys,
 * and stands in for controllers that host offers only on the cgroup2 (hugetlb, say).
 */
final class V1ControlGroup implements ControlGroup {

    /** A v1 controller with its v2 counterpart, for when the controller lives on the cgroup2. */
    private record Binding(Controller v1, Controller v2) {
    }

    /** In the order written: cpuset first (it must be set before anything can run), devices early. */
    private static final List<Binding> APPLY_ORDER = List.of(new Binding(new Cpuset(), new Cpuset()),
            new Binding(new V1Devices(), new V2Devices()), new Binding(new V1Memory(), new V2Memory()),
            new Binding(new V1Cpu(), new V2Cpu()), new Binding(new Pids(), new Pids()),
            new Binding(new V1Blkio(), new V2Io()), new Binding(Hugetlb.V1, Hugetlb.V2));
    private static final Unified UNIFIED_KEYS = new Unified();

    /** By hierarchy name, in creation order; "unified" on hybrid hosts. */
    private final Map<String, Hierarchy> hierarchies;

    V1ControlGroup(Map<String, Hierarchy> hierarchies) {
        this.hierarchies = Collections.unmodifiableMap(new LinkedHashMap<>(hierarchies));
    }

    /** Directory {@code path} in every v1 hierarchy {@code h} knows, and in its cgroup2 if there is one. */
    static V1ControlGroup at(Hierarchies h, String path) {
        Map<String, Hierarchy> out = new LinkedHashMap<>();
        for (String name : Hierarchies.V1_NAMES) {
            if (h.v1().containsKey(name)) {
                out.put(name, Hierarchy.at(name, h.v1().get(name), path));
            }
        }
        if (h.unified() != null) {
            out.put(Hierarchies.UNIFIED, Hierarchy.at(Hierarchies.UNIFIED, h.unified(), path));
        }
        return new V1ControlGroup(out);
    }

    @Override
    public Map<String, String> paths() {
        Map<String, String> out = new LinkedHashMap<>();
        hierarchies.forEach((name, h) -> out.put(name, h.dir().toString()));
        return out;
    }

    @Override
    public void create() throws CgroupException {
        for (Hierarchy h : hierarchies.values()) {
            if (h.name().equals("cpuset")) {
                Cpuset.createV1(h.mountPoint(), h.dir().path());
            } else {
                h.dir().mkdirs();
            }
        }
    }

    @Override
    public void apply(Resources r) throws CgroupException {
        Hierarchy unified = hierarchies.get(Hierarchies.UNIFIED);
        for (Binding b : APPLY_ORDER) {
            if (!b.v1().wants(r)) {
                continue;
            }
            Hierarchy h = hierarchies.get(b.v1().name());
            if (h != null) {
                b.v1().apply(h.dir(), r);
            } else if (unified != null && (b.v2().name() == null || unified.offers(b.v2().name()))) {
                if (b.v2().name() != null) {
                    unified.enableControllers(List.of(b.v2().name()));
                }
                b.v2().apply(unified.dir(), r);
            } else {
                throw new CgroupException("cgroup: linux.resources needs the " + b.v1().name()
                        + " controller, which is not mounted");
            }
        }
        if (UNIFIED_KEYS.wants(r)) {
            if (unified == null) {
                throw new CgroupException("cgroup: linux.resources.unified needs cgroup v2");
            }
            unified.enableControllers(Unified.controllers(r));
            UNIFIED_KEYS.apply(unified.dir(), r);
        }
    }

    /** The directories without repeats: co-mounted controllers (cpu,cpuacct) share one. */
    private Set<CgroupDir> dirs() {
        Set<CgroupDir> out = new LinkedHashSet<>();
        for (Hierarchy h : hierarchies.values()) {
            out.add(h.dir());
        }
        return out;
    }

    @Override
    public List<String> procsFiles() {
        List<String> out = new ArrayList<>();
        for (CgroupDir d : dirs()) {
            out.add(d.file("cgroup.procs").toString());
        }
        return out;
    }

    /** v1's freezer, or on a host that mounts none the cgroup2's freeze. */
    private Freezer freezer() throws CgroupException {
        if (hierarchies.containsKey("freezer")) {
            return new Freezer.V1(hierarchies.get("freezer").dir());
        }
        if (hierarchies.containsKey(Hierarchies.UNIFIED)) {
            return new Freezer.V2(hierarchies.get(Hierarchies.UNIFIED).dir());
        }
        throw new CgroupException("cgroup: no freezer: neither a freezer hierarchy nor a cgroup2 is mounted");
    }

    @Override
    public void freeze() throws CgroupException {
        freezer().freeze();
    }

    @Override
    public void thaw() throws CgroupException {
        freezer().thaw();
    }

    @Override
    public boolean isFrozen() {
        try {
            return freezer().isFrozen();
        } catch (CgroupException e) {
            return false;
        }
    }

    @Override
    public List<Integer> pids() throws CgroupException {
        Set<Integer> all = new TreeSet<>();
        for (CgroupDir d : dirs()) {
            all.addAll(d.procsRecursive());
        }
        return List.copyOf(all);
    }

    @Override
    public long oomKills() throws CgroupException {
        Hierarchy memory = hierarchies.get("memory");
        return memory == null ? 0 : memory.dir().keyed("memory.oom_control").getOrDefault("oom_kill", 0L);
    }

    @Override
    public Stats stats() throws CgroupException {
        Map<String, CgroupDir> dirs = new LinkedHashMap<>();
        hierarchies.forEach((name, h) -> dirs.put(name, h.dir()));
        Hierarchy unified = hierarchies.get(Hierarchies.UNIFIED);
        return V1Stats.read(dirs, unified == null ? null : unified.dir());
    }

    /** Every directory, even when one fails; the first failure is reported. */
    @Override
    public void destroy() throws CgroupException {
        CgroupException first = null;
        for (CgroupDir d : dirs()) {
            try {
                d.removeTree();
            } catch (CgroupException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "cgroup v1 " + paths();
    }
}
