package io.vessel.runtime.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The config.json that {@code spec} writes: a shell in a fully namespaced container, as runc's. */
public final class DefaultSpec {
    private DefaultSpec() {
    }

    /** The default configuration; rootless adds a user namespace mapping root to the caller. */
    public static Map<String, Object> create(boolean rootless) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("ociVersion", Main.SPEC_VERSION);
        List<String> caps = List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
        Map<String, Object> process = new LinkedHashMap<>();
        process.put("terminal", true);
        process.put("user", Map.of("uid", 0, "gid", 0));
        process.put("args", List.of("sh"));
        process.put("env", List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"));
        process.put("cwd", "/");
        process.put("capabilities", Map.of("bounding", caps, "effective", caps, "permitted", caps));
        process.put("rlimits", List.of(Map.of("type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024)));
        process.put("noNewPrivileges", true);
        spec.put("process", process);
        spec.put("root", Map.of("path", "rootfs", "readonly", true));
        spec.put("hostname", "vessel");
        spec.put("mounts", List.of(
                mount("/proc", "proc", "proc", List.of()),
                mount("/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k")),
                mount("/dev/pts", "devpts", "devpts", List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666",
                        "mode=0620", "gid=5")),
                mount("/dev/shm", "tmpfs", "shm", List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
                mount("/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev")),
                mount("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro")),
                mount("/sys/fs/cgroup", "cgroup", "cgroup", List.of("nosuid", "noexec", "nodev", "relatime", "ro"))));
        Map<String, Object> linux = new LinkedHashMap<>();
        List<Object> namespaces = new java.util.ArrayList<>(List.of(Map.of("type", "pid"), Map.of("type", "network"),
                Map.of("type", "ipc"), Map.of("type", "uts"), Map.of("type", "mount"), Map.of("type", "cgroup")));
        if (rootless) {
            namespaces.add(Map.of("type", "user"));
            linux.put("uidMappings", List.of(Map.of("containerID", 0, "hostID", 1000, "size", 1)));
            linux.put("gidMappings", List.of(Map.of("containerID", 0, "hostID", 1000, "size", 1)));
        } else {
            linux.put("resources", Map.of("devices", List.of(Map.of("allow", false, "access", "rwm"))));
        }
        linux.put("namespaces", namespaces);
        linux.put("maskedPaths", List.of("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                "/sys/firmware", "/proc/scsi"));
        linux.put("readonlyPaths", List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
        spec.put("linux", linux);
        return spec;
    }

    private static Map<String, Object> mount(String dest, String type, String source, List<String> options) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("destination", dest);
        m.put("type", type);
        m.put("source", source);
        if (!options.isEmpty()) {
            m.put("options", options);
        }
        return m;
    }
}
