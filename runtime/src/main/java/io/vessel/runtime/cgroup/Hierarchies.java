package io.vessel.runtime.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The cgroup hierarchies mounted in this mount namespace, as /proc/self/mountinfo lists them: the
 * v1 hierarchy of each controller, the cgroup2 mount, and every cgroup mount point.
 *
 * <p>A host is v1 (or hybrid, when a cgroup2 is mounted too) as soon as one v1 controller is
 * mounted; a lone {@code name=systemd} hierarchy beside a cgroup2 does not make it so.
 */
record Hierarchies(Map<String, Path> v1, Path unified, List<Path> mountPoints) {

    static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");
    /** The named hierarchy systemd keeps on v1 and hybrid hosts to track processes. */
    static final String SYSTEMD = "name=systemd";
    /** Key of the cgroup2 hierarchy in {@link ControlGroup#paths()}. */
    static final String UNIFIED = "unified";
    /** v1 hierarchies a container gets a cgroup in, named as /proc/PID/cgroup names them, in creation order. */
    static final List<String> V1_NAMES = List.of("cpuset", "cpu", "cpuacct", "memory", "devices", "freezer",
            "blkio", "pids", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc", SYSTEMD);
    /** Where the cgroup2 is mounted on pure v2 and on hybrid hosts; preferred over other mounts of it. */
    private static final List<Path> USUAL_UNIFIED = List.of(Path.of("/sys/fs/cgroup"),
            Path.of("/sys/fs/cgroup/unified"));
    // mountinfo fields before the " - " separator (proc(5)): id parent dev root mountpoint options
    private static final int ROOT = 3, MOUNT_POINT = 4;

    /** Reads this process's mount table. */
    static Hierarchies detect() {
        try {
            return parse(Files.readString(MOUNTINFO));
        } catch (IOException e) {
            throw new UncheckedIOException("cgroup: reading " + MOUNTINFO + ": " + e.getMessage(), e);
        }
    }

    static Hierarchies parse(String mountinfo) {
        Map<String, Path> v1 = new LinkedHashMap<>();
        Map<String, Boolean> v1AtRoot = new HashMap<>();
        Path unified = null;
        boolean unifiedAtRoot = false;
        List<Path> mountPoints = new ArrayList<>();
        for (String line : mountinfo.split("\n")) {
            String[] f = line.split(" ");
            int sep = List.of(f).indexOf("-");
            if (sep < 0 || f.length < sep + 4 || sep <= MOUNT_POINT) {
                continue;
            }
            String type = f[sep + 1];
            if (!type.equals("cgroup") && !type.equals("cgroup2")) {
                continue;
            }
            Path mountPoint = Path.of(io.vessel.linux.MountTable.unescape(f[MOUNT_POINT]));
            boolean atRoot = f[ROOT].equals("/");
            mountPoints.add(mountPoint);
            if (type.equals("cgroup2")) {
                boolean better = unified == null || (!unifiedAtRoot && atRoot)
                        || (USUAL_UNIFIED.contains(mountPoint) && !USUAL_UNIFIED.contains(unified));
                if (better) {
                    unified = mountPoint;
                    unifiedAtRoot = atRoot;
                }
                continue;
            }
            for (String option : f[sep + 3].split(",")) {
                if (V1_NAMES.contains(option) && (!v1.containsKey(option) || (!v1AtRoot.get(option) && atRoot))) {
                    v1.put(option, mountPoint);
                    v1AtRoot.put(option, atRoot);
                }
            }
        }
        return new Hierarchies(Map.copyOf(v1), unified, List.copyOf(mountPoints));
    }

    /** Whether controllers live on v1 hierarchies (v1 or hybrid host) rather than on the cgroup2. */
    boolean isV1() {
        return v1.keySet().stream().anyMatch(name -> !name.equals(SYSTEMD));
    }

    /** The cgroup mount point {@code dir} lies under (the longest that is a prefix), or null. */
    Path mountPointOf(Path dir) {
        Path best = null;
        for (Path m : mountPoints) {
            if (dir.startsWith(m) && (best == null || m.getNameCount() > best.getNameCount())) {
                best = m;
            }
        }
        return best;
    }
}
