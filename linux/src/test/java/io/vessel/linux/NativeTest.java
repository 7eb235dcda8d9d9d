package io.vessel.linux;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one downcall shape that every binding shares, against real libc functions of each kind. */
class NativeTest {
    @TempDir
    Path tmp;

    @Test
    void variadicFunctionsGetTheirVariadicArguments() throws Exception {
        // open(path, flags, ...mode): mode is variadic; the umask is cleared by fchmod below anyway,
        // so check that a mode that survives the usual umask arrives intact.
        Native.Function open = Native.function("open");
        Path file = tmp.resolve("f");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int fd = (int) open.call(errno, Native.ptr(Native.cString(arena, file.toString())),
                    Files.O_CREAT | Files.O_WRONLY | Files.O_CLOEXEC, 0640);
            assertTrue(fd >= 0, "open failed: " + Native.errno(errno));
            Fd.adopt(fd).close();
        }
        assertEquals("rw-r-----", PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(file)));
    }

    @Test
    void intResultsNarrowToNegativeAndErrnoIsCaptured() {
        Native.Function close = Native.function("close");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            assertEquals(-1, (int) close.call(errno, -1));
            assertEquals(Errno.EBADF, Native.errno(errno));
        }
    }

    @Test
    void pointerResultsAndSizeArgumentsAreWhole() {
        // strlen returns size_t; memchr a pointer into its argument.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = Native.cString(arena, "vessel");
            assertEquals(6L, Native.function("strlen").call(Native.UNREAD_ERRNO, Native.ptr(s)));
            long hit = Native.function("memchr").call(Native.UNREAD_ERRNO, Native.ptr(s), 's', 6);
            assertEquals(s.address() + 2, hit);
        }
    }

    @Test
    void heapSegmentsAreRefusedAsPointers() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Native.ptr(MemorySegment.ofArray(new byte[8])));
        assertTrue(e.getMessage().contains("heap segment"), e.getMessage());
        assertEquals(0L, Native.ptr(MemorySegment.NULL));
    }

    @Test
    void missingSymbolsNameThemselves() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> Native.function("no_such_function_here"));
        assertTrue(e.getMessage().contains("no_such_function_here"), e.getMessage());
    }
}
