package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static io.vessel.linux.Native.C_INT;

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

    private static final class H {
        static final MethodHandle UNSHARE = Native.errnoHandle("unshare", FunctionDescriptor.of(C_INT, C_INT));
        static final MethodHandle SETNS = Native.errnoHandle("setns", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    }

    /** unshare(2): the calling thread leaves its namespaces of the kinds in {@code flags} for new ones. */
    public static void unshare(int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) H.UNSHARE.invokeExact(errno, flags);
            Native.check(r, errno, () -> "unshare(0x" + Integer.toHexString(flags) + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** setns(2): the calling thread joins the namespace open at {@code fd} ({@code nstype} 0: any kind). */
    public static void setns(Fd fd, int nstype) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) H.SETNS.invokeExact(errno, fd.num(), nstype);
            Native.check(r, errno, () -> "setns(" + fd + ", 0x" + Integer.toHexString(nstype) + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
