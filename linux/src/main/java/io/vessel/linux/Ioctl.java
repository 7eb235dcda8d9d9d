package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_LONG;
import static io.vessel.linux.Native.C_POINTER;

/** ioctl(2), one handle per argument kind (the function is variadic). */
public final class Ioctl {
    /** struct winsize, asm-generic/ioctls.h. */
    public static final long TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;

    private Ioctl() {
    }

    private static final class Ptr {
        static final MethodHandle H = Native.variadicErrnoHandle("ioctl",
                FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_POINTER), 2);
    }

    private static final class Val {
        static final MethodHandle H = Native.variadicErrnoHandle("ioctl",
                FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_LONG), 2);
    }

    /** ioctl with a pointer argument; returns the non-negative result. */
    public static int ioctl(int fd, long request, MemorySegment arg) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) Ptr.H.invokeExact(errno, fd, request, arg);
            return (int) Native.check(r, errno, () -> "ioctl(" + fd + ", 0x" + Long.toHexString(request) + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** ioctl with an integer argument. */
    public static int ioctl(int fd, long request, long arg) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) Val.H.invokeExact(errno, fd, request, arg);
            return (int) Native.check(r, errno, () -> "ioctl(" + fd + ", 0x" + Long.toHexString(request) + ", " + arg + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
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
