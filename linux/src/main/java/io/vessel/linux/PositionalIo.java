package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Positional I/O straight between a file and native memory (pread, pwrite, fdatasync,
 * fallocate). Disk emulation needs it: a virtio-blk request moves data between a raw image and
 * guest RAM without a bounce buffer, and discard needs {@code fallocate}'s hole punching, which
 * {@link java.nio.channels.FileChannel} does not offer.
 */
public final class PositionalIo {
    // linux/falloc.h
    public static final int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02, FALLOC_FL_ZERO_RANGE = 0x10;

    private PositionalIo() {
    }

    // ssize_t pread(int fd, void *buf, size_t count, off_t offset);
    private static final Native.Function PREAD = Native.function("pread");

    // ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset);
    private static final Native.Function PWRITE = Native.function("pwrite");

    private static final Native.Function FDATASYNC = Native.function("fdatasync");

    // int fallocate(int fd, int mode, off_t offset, off_t len);
    private static final Native.Function FALLOCATE = Native.function("fallocate");

    /**
     * Reads into all of {@code buf} from {@code offset}, retrying short reads; returns the bytes
     * read, fewer than the buffer only at end of file.
     */
    public static long pread(int fd, MemorySegment buf, long offset) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long done = 0;
            long size = buf.byteSize();
            while (done < size) {
                long n = PREAD.call(errno, fd, Native.ptr(buf.asSlice(done)), size - done, offset + done);
                if (n < 0) {
                    if (Native.errno(errno) == Errno.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("pread(" + fd + ", " + (size - done) + " bytes at " + (offset + done) + ")",
                            Native.errno(errno));
                }
                if (n == 0) {
                    break;
                }
                done += n;
            }
            return done;
        }
    }

    /** Writes all of {@code buf} at {@code offset}, retrying short writes. */
    public static void pwrite(int fd, MemorySegment buf, long offset) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long done = 0;
            long size = buf.byteSize();
            while (done < size) {
                long n = PWRITE.call(errno, fd, Native.ptr(buf.asSlice(done)), size - done, offset + done);
                if (n < 0) {
                    if (Native.errno(errno) == Errno.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("pwrite(" + fd + ", " + (size - done) + " bytes at " + (offset + done) + ")",
                            Native.errno(errno));
                }
                done += n;
            }
        }
    }

    /** fdatasync(2): the file's data (and the metadata needed to read it) reach stable storage. */
    public static void fdatasync(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r;
            do {
                r = (int) FDATASYNC.call(errno, fd);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            if (r < 0) {
                throw new ErrnoException("fdatasync(" + fd + ")", Native.errno(errno));
            }
        }
    }

    /** fallocate(2) with {@code mode} (the FALLOC_FL_* flags) over {@code [offset, offset+length)}. */
    public static void fallocate(int fd, int mode, long offset, long length) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r;
            do {
                r = (int) FALLOCATE.call(errno, fd, mode, offset, length);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            if (r < 0) {
                throw new ErrnoException("fallocate(" + fd + ", 0x" + Integer.toHexString(mode) + ", " + offset + ", "
                        + length + ")", Native.errno(errno));
            }
        }
    }
}
