package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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

    private static final Native.Function ISATTY = Native.function("isatty");

    private static final Native.Function TCGETATTR = Native.function("tcgetattr");

    private static final Native.Function TCSETATTR = Native.function("tcsetattr");

    private static final Native.Function CFMAKERAW = Native.function("cfmakeraw");

    /** Whether {@code fd} is a terminal. */
    public static boolean isTerminal(int fd) {
        return (int) ISATTY.call(Native.UNREAD_ERRNO, fd) == 1;
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
            int r = (int) TCGETATTR.call(errno, fd, Native.ptr(t));
            Native.check(r, errno, () -> "tcgetattr(" + fd + ")");
            Saved saved = new Saved(fd, t.toArray(ValueLayout.JAVA_BYTE));
            CFMAKERAW.call(Native.UNREAD_ERRNO, Native.ptr(t));
            set(arena, fd, t);
            return saved;
        }
    }

    private static void set(Arena arena, int fd, MemorySegment termios) throws ErrnoException {
        MemorySegment errno = Native.errnoSegment(arena);
        int r = (int) TCSETATTR.call(errno, fd, TCSANOW, Native.ptr(termios));
        Native.check(r, errno, () -> "tcsetattr(" + fd + ")");
    }
}
