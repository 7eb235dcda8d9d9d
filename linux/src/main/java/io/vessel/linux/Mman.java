package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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

    private static final Native.Function MMAP = Native.function("mmap");
    private static final Native.Function MUNMAP = Native.function("munmap");
    private static final Native.Function MADVISE = Native.function("madvise");

    /**
     * Maps {@code length} bytes of {@code fd} at {@code offset} (or anonymous memory with fd -1 and
     * {@link #MAP_ANONYMOUS}); the segment has that length and must be released with {@link #munmap}.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long p = MMAP.call(errno, 0, length, prot, flags, fd, offset);
            if (p == MAP_FAILED) {
                throw new ErrnoException("mmap(length=" + length + ", prot=" + prot + ", flags=0x"
                        + Integer.toHexString(flags) + ", fd=" + fd + ", offset=" + offset + ")", Native.errno(errno));
            }
            return MemorySegment.ofAddress(p).reinterpret(length);
        }
    }

    /** Anonymous, private, read-write memory of {@code length} bytes, zero-filled and not reserved up front. */
    public static MemorySegment anonymous(long length) throws ErrnoException {
        return mmap(length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }

    public static void munmap(MemorySegment mapping) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) MUNMAP.call(errno, Native.ptr(mapping), mapping.byteSize());
            Native.check(r, errno, () -> "munmap(0x" + Long.toHexString(mapping.address()) + ", " + mapping.byteSize() + ")");
        }
    }

    public static void madvise(MemorySegment range, int advice) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) MADVISE.call(errno, Native.ptr(range), range.byteSize(), advice);
            Native.check(r, errno, () -> "madvise(0x" + Long.toHexString(range.address()) + ", " + range.byteSize() + ", " + advice + ")");
        }
    }
}
