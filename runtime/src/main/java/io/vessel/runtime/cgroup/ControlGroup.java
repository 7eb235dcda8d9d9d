package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A container's cgroup: its directories in every hierarchy of this host (v1, v2 or hybrid, as
 * /proc/self/mountinfo shows), the limits of {@code linux.resources} written to them, and the
 * operations the runtime performs on the whole group.
 */
public sealed interface ControlGroup permits V1ControlGroup, V2ControlGroup {

    /**
     * The cgroup for container {@code id} at config.json's {@code linux.cgroupsPath}: an absolute
     * "/a/b" or relative "a/b" path below each hierarchy root, "/vessel/&lt;id&gt;" when null or
     * empty, and for the systemd form "slice:prefix:name" (accepted, but done with cgroupfs)
     * "/&lt;slice&gt;/&lt;prefix&gt;-&lt;name&gt;.scope". Nothing is created yet.
     *
     * @throws IllegalArgumentException for a path with ".." or naming the root cgroup
     * @throws IllegalStateException when no cgroup hierarchy is mounted
     */
    static ControlGroup forContainer(String cgroupsPath, String id) {
        String path = CgroupsPath.resolve(cgroupsPath, id);
        Hierarchies hierarchies = Hierarchies.detect();
        if (hierarchies.isV1()) {
            return V1ControlGroup.at(hierarchies, path);
        }
        if (hierarchies.unified() == null) {
            throw new IllegalStateException("cgroup: no cgroup hierarchy is mounted (" + Hierarchies.MOUNTINFO
                    + " lists neither cgroup nor cgroup2)");
        }
        return new V2ControlGroup(Hierarchy.at(Hierarchies.UNIFIED, hierarchies.unified(), path));
    }

    /** Re-opens a cgroup from what {@link #paths()} returned (persisted in the container's state.json). */
    static ControlGroup load(Map<String, String> paths) {
        if (paths == null || paths.isEmpty()) {
            throw new IllegalArgumentException("cgroup: no cgroup paths to load");
        }
        Hierarchies hierarchies = Hierarchies.detect();
        Map<String, Hierarchy> loaded = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : paths.entrySet()) {
            Path dir = Path.of(e.getValue());
            if (!dir.isAbsolute()) {
                throw new IllegalArgumentException("cgroup: path of " + e.getKey() + " is not absolute: " + dir);
            }
            Path mountPoint = hierarchies.mountPointOf(dir);
            loaded.put(e.getKey(), new Hierarchy(e.getKey(), mountPoint != null ? mountPoint : dir.getParent(),
                    new CgroupDir(dir)));
        }
        if (loaded.size() == 1 && loaded.containsKey(Hierarchies.UNIFIED)) {
            return new V2ControlGroup(loaded.get(Hierarchies.UNIFIED));
        }
        return new V1ControlGroup(loaded);
    }

    /** Hierarchy name ("memory", "cpu", ..., "name=systemd", or "unified") to absolute directory. */
    Map<String, String> paths();

    /** mkdir -p in every hierarchy (v2: enabling the controllers in the parents' cgroup.subtree_control). */
    void create() throws IOException;

    /** Writes every limit of {@code r} that is set; errors name the file and the value. */
    void apply(Resources r) throws IOException;

    /** The cgroup.procs file of each hierarchy: the launcher writes its pid into each before cloning. */
    List<String> procsFiles();

    /** Stops every process and returns once the kernel reports all of them frozen. */
    void freeze() throws IOException;

    void thaw() throws IOException;

    /** Whether the cgroup is frozen; false too when it cannot be read (it is gone). */
    boolean isFrozen();

    /** Every process in the cgroup and in the cgroups below it, ascending. */
    List<Integer> pids() throws IOException;

    /** Usage figures for {@code events --stats}. */
    Stats stats() throws IOException;

    /**
     * How many processes of this cgroup the kernel's OOM killer has killed (v1: {@code oom_kill} of
     * memory.oom_control; v2: of memory.events); 0 without a memory controller.
     */
    long oomKills() throws IOException;

    /**
     * Removes the directory in every hierarchy, children first, retrying a directory the kernel
     * still finds busy for about a second; directories that are already gone are fine.
     */
    void destroy() throws IOException;
}
