package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_POINTER;

/**
 * The controlling terminal of a command: whether a descriptor is one (progress bars redraw only
 * there), its size, and raw mode for {@code run -it} (the container's own terminal does the line
 * editing and echo), restored afterwards.
 */
public final class Terminal {
    /** sizeof(struct termios) with glibc on x86-64 is 60; room to spare. */
    private static final long TERMIOS_SIZE = 64;
    /** tcsetattr's "now", termios.h. */
    private static final int TCSANOW = 0;

    private Terminal() {
    }

    private static final class IsATty {
        static final MethodHandle H = Native.handle("isatty", FunctionDescriptor.of(C_INT, C_INT));
    }

    private static final class GetAttr {
        static final MethodHandle H = Native.errnoHandle("tcgetattr", FunctionDescriptor.of(C_INT, C_INT, C_POINTER));
    }

    private static final class SetAttr {
        static final MethodHandle H = Native.errnoHandle("tcsetattr", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_POINTER));
    }

    private static final class MakeRaw {
        static final MethodHandle H = Native.handle("cfmakeraw", FunctionDescriptor.ofVoid(C_POINTER));
    }

    /** Whether {@code fd} is a terminal. */
    public static boolean isTerminal(int fd) {
        try {
            return (int) IsATty.H.invokeExact(fd) == 1;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** The terminal's size as {rows, columns}. */
    public static int[] windowSize(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ws = arena.allocate(8);
            Ioctl.ioctl(fd, Ioctl.TIOCGWINSZ, ws);
            return new int[] {Short.toUnsignedInt(ws.get(ValueLayout.JAVA_SHORT, 0)),
                    Short.toUnsignedInt(ws.get(ValueLayout.JAVA_SHORT, 2))};
        }
    }

    /** A terminal's settings saved before raw mode; {@link #close} puts them back. */
    public static final class Saved implements AutoCloseable {
        private final int fd;
        private final byte[] termios;

        private Saved(int fd, byte[] termios) {
            this.fd = fd;
            this.termios = termios;
        }

        @Override
        public void close() throws ErrnoException {
            try (Arena arena = Arena.ofConfined()) {
                set(arena, fd, arena.allocateFrom(ValueLayout.JAVA_BYTE, termios));
            }
        }
    }

    /** Puts the terminal {@code fd} in raw mode (cfmakeraw), returning what restores it. */
    public static Saved makeRaw(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(TERMIOS_SIZE);
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) GetAttr.H.invokeExact(errno, fd, t);
            Native.check(r, errno, () -> "tcgetattr(" + fd + ")");
            Saved saved = new Saved(fd, t.toArray(ValueLayout.JAVA_BYTE));
            MakeRaw.H.invokeExact(t);
            set(arena, fd, t);
            return saved;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static void set(Arena arena, int fd, MemorySegment termios) throws ErrnoException {
        try {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) SetAttr.H.invokeExact(errno, fd, TCSANOW, termios);
            Native.check(r, errno, () -> "tcsetattr(" + fd + ")");
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
