package io.vessel.runtime.cli;

import io.vessel.runtime.spec.Capability;
import io.vessel.runtime.spec.Spec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code features} document (runtime-spec features.md): what this runtime implements. */
final class Features {
    private Features() {
    }

    static Map<String, Object> features() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ociVersionMin", "1.0.0");
        m.put("ociVersionMax", Main.SPEC_VERSION);
        m.put("hooks", List.of("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"));
        java.util.TreeSet<String> mountOptions = new java.util.TreeSet<>(io.vessel.runtime.spec.MountOption.recursiveOptions());
        mountOptions.addAll(List.of("async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
                "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "nolazytime", "nomand",
                "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "rbind", "relatime", "remount",
                "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave",
                "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable"));
        m.put("mountOptions", List.copyOf(mountOptions));
        Map<String, Object> linux = new LinkedHashMap<>();
        linux.put("namespaces", List.of("cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"));
        linux.put("capabilities", Capability.NAMES);
        linux.put("cgroup", Map.of("v1", true, "v2", true, "systemd", false, "systemdUser", false, "rdma", false));
        linux.put("seccomp", Map.of(
                "enabled", true,
                "actions", Spec.Seccomp.ACTIONS,
                "operators", Spec.SyscallArg.OPS,
                "archs", List.of("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"),
                "knownFlags", Spec.Seccomp.FLAGS,
                "supportedFlags", Spec.Seccomp.FLAGS));
        linux.put("apparmor", Map.of("enabled", false));
        linux.put("selinux", Map.of("enabled", false));
        linux.put("intelRdt", Map.of("enabled", false));
        linux.put("mountExtensions", Map.of("idmap", Map.of("enabled", false)));
        m.put("linux", linux);
        m.put("annotations", Map.of("io.vessel.runtime.version", Main.VERSION));
        return m;
    }
}
