package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** mount(2), umount2(2) and pivot_root(2), for the places where Java acts on the host itself. */
public final class Mount {
    public static final int MNT_FORCE = 1, MNT_DETACH = 2, UMOUNT_NOFOLLOW = 8;
    private static final long SYS_PIVOT_ROOT = 155;

    private Mount() {
    }

    private static final Native.Function MOUNT = Native.function("mount");
    private static final Native.Function UMOUNT2 = Native.function("umount2");
    private static final Native.Function SYSCALL = Native.function("syscall");

    private static MemorySegment str(Arena arena, String s) {
        return s == null ? MemorySegment.NULL : Native.cString(arena, s);
    }

    /** mount(2); null strings are passed as NULL. */
    public static void mount(String source, String target, String type, long flags, String data) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) MOUNT.call(errno, Native.ptr(str(arena, source)), Native.ptr(str(arena, target)),
                    Native.ptr(str(arena, type)), flags, Native.ptr(str(arena, data)));
            Native.check(r, errno, () -> "mount(" + q(source) + ", " + q(target) + ", " + q(type) + ", 0x"
                    + Long.toHexString(flags) + ", " + q(data) + ")");
        }
    }

    /** umount2(2). */
    public static void umount(String target, int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) UMOUNT2.call(errno, Native.ptr(Native.cString(arena, target)), flags);
            Native.check(r, errno, () -> "umount2(" + q(target) + ", " + flags + ")");
        }
    }

    /**
     * Detaches every mount stacked on {@code target} (MNT_DETACH, as their users may still hold them), until
     * umount2 says it is no mount point (EINVAL) or does not exist (ENOENT).
     */
    public static void detachAll(String target) throws ErrnoException {
        for (int i = 0; i < 64; i++) {
            try {
                umount(target, MNT_DETACH);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EINVAL || e.errno() == Errno.ENOENT) {
                    return;
                }
                throw e;
            }
        }
    }

    /** pivot_root(2): only meaningful in a mount namespace of one's own. */
    public static void pivotRoot(String newRoot, String putOld) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long r = SYSCALL.call(errno, SYS_PIVOT_ROOT, Native.ptr(Native.cString(arena, newRoot)),
                    Native.ptr(Native.cString(arena, putOld)));
            Native.check(r, errno, () -> "pivot_root(" + q(newRoot) + ", " + q(putOld) + ")");
        }
    }

    private static String q(String s) {
        return s == null ? "NULL" : "\"" + s + "\"";
    }
}
