package io.vessel.runtime.seccomp;

/** An OCI seccomp action ({@code SCMP_ACT_*}) and the filter return value it compiles to. */
enum Action {
    /** libseccomp's SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD. */
    KILL(Bpf.RET_KILL_THREAD),
    KILL_PROCESS(Bpf.RET_KILL_PROCESS),
    KILL_THREAD(Bpf.RET_KILL_THREAD),
    TRAP(Bpf.RET_TRAP),
    ERRNO(Bpf.RET_ERRNO),
    TRACE(Bpf.RET_TRACE),
    ALLOW(Bpf.RET_ALLOW),
    LOG(Bpf.RET_LOG),
    NOTIFY(Bpf.RET_USER_NOTIF);

    private static final String PREFIX = "SCMP_ACT_";
    private final int base;

    Action(int base) {
        this.base = base;
    }

    /** The action named {@code ociName} ("SCMP_ACT_ERRNO"), or null. */
    static Action byOciName(String ociName) {
        if (ociName == null || !ociName.startsWith(PREFIX)) {
            return null;
        }
        for (Action a : values()) {
            if (a.name().equals(ociName.substring(PREFIX.length()))) {
                return a;
            }
        }
        return null;
    }

    /** Whether {@code errnoRet} means something for this action (the errno, or the tracer's message). */
    boolean takesData() {
        return this == ERRNO || this == TRACE;
    }

    /** The largest {@code errnoRet} this action passes on unchanged. */
    int maxData() {
        return this == ERRNO ? Bpf.MAX_ERRNO : Bpf.RET_DATA;
    }

    /** The SECCOMP_RET_* value; ERRNO and TRACE carry {@code errnoRet}, EPERM when absent (as runc). */
    int returnValue(Integer errnoRet) {
        return takesData() ? base | ((errnoRet == null ? Bpf.EPERM : errnoRet) & Bpf.RET_DATA) : base;
    }
}
