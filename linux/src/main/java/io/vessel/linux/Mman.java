package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_LONG;
import static io.vessel.linux.Native.C_POINTER;
import static io.vessel.linux.Native.C_SIZE_T;

/**
 * mmap(2), munmap(2) and madvise(2): memory that the kernel itself reads and writes (guest RAM,
 * a vCPU's {@code kvm_run} page), whose lifetime is explicit rather than left to the GC.
 */
public final class Mman {
    /** asm-generic/mman-common.h. */
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    public static final int MADV_DONTNEED = 4, MADV_DONTFORK = 10, MADV_MERGEABLE = 12, MADV_HUGEPAGE = 14;
    private static final long MAP_FAILED = -1L;

    private Mman() {
    }

    private static final class H {
        static final MethodHandle MMAP = Native.errnoHandle("mmap",
                FunctionDescriptor.of(C_POINTER, C_POINTER, C_SIZE_T, C_INT, C_INT, C_INT, C_LONG));
        static final MethodHandle MUNMAP = Native.errnoHandle("munmap",
                FunctionDescriptor.of(C_INT, C_POINTER, C_SIZE_T));
        static final MethodHandle MADVISE = Native.errnoHandle("madvise",
                FunctionDescriptor.of(C_INT, C_POINTER, C_SIZE_T, C_INT));
    }

    /**
     * Maps {@code length} bytes of {@code fd} at {@code offset} (or anonymous memory with fd -1 and
     * {@link #MAP_ANONYMOUS}); the segment has that length and must be released with {@link #munmap}.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment p = (MemorySegment) H.MMAP.invokeExact(errno, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (p.address() == MAP_FAILED) {
                throw new ErrnoException("mmap(length=" + length + ", prot=" + prot + ", flags=0x"
                        + Integer.toHexString(flags) + ", fd=" + fd + ", offset=" + offset + ")", Native.errno(errno));
            }
            return p.reinterpret(length);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Anonymous, private, read-write memory of {@code length} bytes, zero-filled and not reserved up front. */
    public static MemorySegment anonymous(long length) throws ErrnoException {
        return mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }

    public static void munmap(MemorySegment mapping) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) H.MUNMAP.invokeExact(errno, mapping, mapping.byteSize());
            Native.check(r, errno, () -> "munmap(0x" + Long.toHexString(mapping.address()) + ", " + mapping.byteSize() + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    public static void madvise(MemorySegment range, int advice) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) H.MADVISE.invokeExact(errno, range, range.byteSize(), advice);
            Native.check(r, errno, () -> "madvise(0x" + Long.toHexString(range.address()) + ", " + range.byteSize() + ", " + advice + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
