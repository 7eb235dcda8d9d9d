package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** ioctl(2) with a pointer or an integer argument (the function is variadic; see {@link Native}). */
public final class Ioctl {
    /** struct winsize, asm-generic/ioctls.h. */
    public static final long TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;

    private Ioctl() {
    }

    private static final Native.Function IOCTL = Native.function("ioctl");

    /** ioctl with a pointer argument; returns the non-negative result. */
    public static int ioctl(int fd, long request, MemorySegment arg) throws ErrnoException {
        MemorySegment errno = Native.scratch().errno; // KVM's ioctls run per interrupt or register access
        int r = (int) IOCTL.call(errno, fd, request, Native.ptr(arg));
        return (int) Native.check(r, errno, () -> "ioctl(" + fd + ", 0x" + Long.toHexString(request) + ")");
    }

    /** ioctl with an integer argument. */
    public static int ioctl(int fd, long request, long arg) throws ErrnoException {
        MemorySegment errno = Native.scratch().errno;
        int r = (int) IOCTL.call(errno, fd, request, arg);
        return (int) Native.check(r, errno, () -> "ioctl(" + fd + ", 0x" + Long.toHexString(request) + ", " + arg + ")");
    }

    /**
     * ioctl with an integer argument for a hot path (a vCPU's KVM_RUN): no arena and no exception;
     * returns the result, or -1 with errno in {@code errno}, a capture segment the caller reuses.
     */
    public static int call(MemorySegment errno, int fd, long request, long arg) {
        return (int) IOCTL.call(errno, fd, request, arg);
    }

    /** Sets a terminal's size (TIOCSWINSZ). */
    public static void setWindowSize(int fd, int rows, int cols) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ws = arena.allocate(8);
            ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) rows);
            ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 2, (short) cols);
            ioctl(fd, TIOCSWINSZ, ws);
        }
    }
}
