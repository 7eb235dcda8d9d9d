package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.vessel.linux.Native.C_INT;

/**
 * pipe2(2): a kernel pipe as two owned descriptors, for handing a child process (a build step's
 * container) a descriptor to write to while Java reads the other end.
 */
public final class Pipes {
    /** O_CLOEXEC from fcntl.h: the ends are not inherited by exec unless placed explicitly. */
    public static final int O_CLOEXEC = 02000000;

    private Pipes() {
    }

    /** The two ends of a pipe. */
    public record Pipe(Fd read, Fd write) implements AutoCloseable {
        @Override
        public void close() {
            read.close();
            write.close();
        }
    }

    private static final Native.Function PIPE2 = Native.function("pipe2");

    /** pipe2(2) with {@code flags} (e.g. {@link #O_CLOEXEC}). */
    public static Pipe pipe(int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment fds = arena.allocate(C_INT, 2);
            int r = (int) PIPE2.call(errno, Native.ptr(fds), flags);
            if (r < 0) {
                throw new ErrnoException("pipe2", Native.errno(errno));
            }
            return new Pipe(Fd.adopt(fds.getAtIndex(C_INT, 0)), Fd.adopt(fds.getAtIndex(C_INT, 1)));
        }
    }
}
