package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * unshare(2) and setns(2) for the calling thread. In a multi-threaded process (every JVM) only
 * some namespaces may be entered this way — the network namespace among them — and the change
 * applies to the calling thread alone, so callers use a platform thread of their own
 * ({@link NetNamespace} does).
 */
public final class Namespaces {
    /** include/uapi/linux/sched.h */
    public static final int CLONE_NEWNET = 0x40000000;

    private Namespaces() {
    }

    private static final Native.Function UNSHARE = Native.function("unshare");
    private static final Native.Function SETNS = Native.function("setns");

    /** unshare(2): the calling thread leaves its namespaces of the kinds in {@code flags} for new ones. */
    public static void unshare(int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) UNSHARE.call(errno, flags);
            Native.check(r, errno, () -> "unshare(0x" + Integer.toHexString(flags) + ")");
        }
    }

    /** setns(2): the calling thread joins the namespace open at {@code fd} ({@code nstype} 0: any kind). */
    public static void setns(Fd fd, int nstype) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) SETNS.call(errno, fd.num(), nstype);
            Native.check(r, errno, () -> "setns(" + fd + ", 0x" + Integer.toHexString(nstype) + ")");
        }
    }
}
