package io.vessel.runtime.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves a long-lived helper (the runtime service) out of the cgroup of whoever started it and into
 * the root of every cgroup hierarchy mounted here. The service is started on demand by any caller,
 * podman's conmon among them; left in that caller's cgroup it would keep the cgroup busy (podman
 * could not remove it) and die with it (systemd stops a unit by killing its cgroup).
 */
public final class RootCgroups {
    private RootCgroups() {
    }

    /** Moves this process; returns what could not be done (empty when all went well). */
    public static List<String> moveSelf() {
        List<String> problems = new ArrayList<>();
        String pid = Long.toString(ProcessHandle.current().pid());
        Hierarchies h = Hierarchies.detect();
        List<Path> roots = new ArrayList<>(new java.util.LinkedHashSet<>(h.v1().values()));
        if (h.unified() != null) {
            roots.add(h.unified());
        }
        for (Path mountPoint : roots) {
            Path procs = mountPoint.resolve("cgroup.procs");
            try {
                Files.writeString(procs, pid);
            } catch (IOException e) {
                problems.add(procs + ": " + e.getMessage());
            }
        }
        return problems;
    }
}
