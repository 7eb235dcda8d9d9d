package io.vessel.runtime.cgroup;

import java.io.IOException;

/**
 * A cgroup operation failed; the message names the file and the value, e.g.
 * {@code cgroup: writing 10 to /sys/fs/cgroup/memory/x/memory.limit_in_bytes: Device or resource busy}.
 */
public final class CgroupException extends IOException {
    private final int errno;

    CgroupException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    CgroupException(String message) {
        this(message, 0);
    }

    /** The errno behind the failure, or 0 when it did not come from a system call. */
    public int errno() {
        return errno;
    }
}
