package io.vessel.runtime.cgroup;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** A container's directory in one hierarchy, with the mount point of that hierarchy. */
record Hierarchy(String name, Path mountPoint, CgroupDir dir) {
    static final String AVAILABLE = "cgroup.controllers", SUBTREE_CONTROL = "cgroup.subtree_control";

    /** The container's directory {@code path} (like "/vessel/abc") below {@code mountPoint}. */
    static Hierarchy at(String name, Path mountPoint, String path) {
        return new Hierarchy(name, mountPoint, new CgroupDir(mountPoint.resolve(path.substring(1))));
    }

    /** cgroup.procs of the container's directory. */
    String procsFile() {
        return dir.file("cgroup.procs").toString();
    }

    /** Whether the cgroup2 at the mount point offers {@code controller} at all. */
    boolean offers(String controller) throws CgroupException {
        return new CgroupDir(mountPoint).words(AVAILABLE).contains(controller);
    }

    /**
     * cgroup v2: enables {@code controllers}, those offered, in cgroup.subtree_control of each
     * ancestor of the directory from the mount point down, so that the directory gets their files.
     * All at once first; if the kernel refuses, one at a time, leaving out the ones it refuses
     * (a parent with processes of its own, say): a limit that needs one then fails naming it.
     */
    void enableControllers(Collection<String> controllers) throws CgroupException {
        for (Path ancestor : ancestors()) {
            CgroupDir d = new CgroupDir(ancestor);
            var available = d.words(AVAILABLE);
            var enabled = d.words(SUBTREE_CONTROL);
            List<String> missing = controllers.stream().filter(c -> available.contains(c) && !enabled.contains(c))
                    .map(c -> "+" + c).toList();
            if (missing.isEmpty()) {
                continue;
            }
            try {
                d.write(SUBTREE_CONTROL, String.join(" ", missing));
            } catch (CgroupException all) {
                for (String one : missing) {
                    try {
                        d.write(SUBTREE_CONTROL, one);
                    } catch (CgroupException refused) {
                        // left disabled; see above
                    }
                }
            }
        }
    }

    /** The mount point and each directory below it down to the container's parent. */
    private List<Path> ancestors() {
        List<Path> out = new ArrayList<>();
        Path current = mountPoint;
        for (Path part : mountPoint.relativize(dir.path())) {
            out.add(current);
            current = current.resolve(part);
        }
        return out;
    }
}
