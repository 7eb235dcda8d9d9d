package io.vessel.linux;

import java.io.IOException;

/**
 * A system call failed: names the call, its arguments and the errno, e.g.
 * {@code mount("proc", "/x/proc", "proc", 0x0, "") failed: ENOENT (No such file or directory)}.
 */
public class ErrnoException extends IOException {
    private final String call;
    private final int errno;

    public ErrnoException(String call, int errno) {
        super(call + " failed: " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The call with its arguments as the message shows it. */
    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }
}
