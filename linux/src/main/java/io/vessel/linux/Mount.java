package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_LONG;
import static io.vessel.linux.Native.C_POINTER;

/** mount(2), umount2(2) and pivot_root(2), for the places where Java acts on the host itself. */
public final class Mount {
    public static final int MNT_FORCE = 1, MNT_DETACH = 2, UMOUNT_NOFOLLOW = 8;
    private static final long SYS_PIVOT_ROOT = 155;

    private Mount() {
    }

    private static final class H {
        static final MethodHandle MOUNT = Native.errnoHandle("mount",
                FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_POINTER));
        static final MethodHandle UMOUNT2 = Native.errnoHandle("umount2", FunctionDescriptor.of(C_INT, C_POINTER, C_INT));
        static final MethodHandle SYSCALL2 = Native.variadicErrnoHandle("syscall",
                FunctionDescriptor.of(C_LONG, C_LONG, C_POINTER, C_POINTER), 1);
    }

    private static MemorySegment str(Arena arena, String s) {
        return s == null ? MemorySegment.NULL : Native.cString(arena, s);
    }

    /** mount(2); null strings are passed as NULL. */
    public static void mount(String source, String target, String type, long flags, String data) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) H.MOUNT.invokeExact(errno, str(arena, source), str(arena, target), str(arena, type), flags,
                    str(arena, data));
            Native.check(r, errno, () -> "mount(" + q(source) + ", " + q(target) + ", " + q(type) + ", 0x"
                    + Long.toHexString(flags) + ", " + q(data) + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** umount2(2). */
    public static void umount(String target, int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) H.UMOUNT2.invokeExact(errno, Native.cString(arena, target), flags);
            Native.check(r, errno, () -> "umount2(" + q(target) + ", " + flags + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
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
            long r = (long) H.SYSCALL2.invokeExact(errno, SYS_PIVOT_ROOT, Native.cString(arena, newRoot),
                    Native.cString(arena, putOld));
            Native.check(r, errno, () -> "pivot_root(" + q(newRoot) + ", " + q(putOld) + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static String q(String s) {
        return s == null ? "NULL" : "\"" + s + "\"";
    }
}
