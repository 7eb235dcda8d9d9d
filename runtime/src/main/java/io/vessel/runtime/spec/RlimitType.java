package io.vessel.runtime.spec;

import java.util.List;

/** RLIMIT_* resource names of the spec and their numbers (include/uapi/asm-generic/resource.h). */
public final class RlimitType {
    public static final List<String> NAMES = List.of(
            "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
            "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
            "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME");

    private RlimitType() {
    }

    public static int number(String name) {
        return NAMES.indexOf(name);
    }
}
