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

    private static final class Pread {
        // ssize_t pread(int fd, void *buf, size_t count, off_t offset);
        static final MethodHandle H = Native.errnoHandle("pread",
                FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_SIZE_T, C_LONG));
    }

    private static final class Pwrite {
        // ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset);
        static final MethodHandle H = Native.errnoHandle("pwrite",
                FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_SIZE_T, C_LONG));
    }

    private static final class Fdatasync {
        static final MethodHandle H = Native.errnoHandle("fdatasync", FunctionDescriptor.of(C_INT, C_INT));
    }

    private static final class Fallocate {
        // int fallocate(int fd, int mode, off_t offset, off_t len);
        static final MethodHandle H = Native.errnoHandle("fallocate",
                FunctionDescriptor.of(C_INT, C_INT, C_INT, C_LONG, C_LONG));
    }

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
                long n = (long) Pread.H.invokeExact(errno, fd, buf.asSlice(done), size - done, offset + done);
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
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Writes all of {@code buf} at {@code offset}, retrying short writes. */
    public static void pwrite(int fd, MemorySegment buf, long offset) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long done = 0;
            long size = buf.byteSize();
            while (done < size) {
                long n = (long) Pwrite.H.invokeExact(errno, fd, buf.asSlice(done), size - done, offset + done);
                if (n < 0) {
                    if (Native.errno(errno) == Errno.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("pwrite(" + fd + ", " + (size - done) + " bytes at " + (offset + done) + ")",
                            Native.errno(errno));
                }
                done += n;
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** fdatasync(2): the file's data (and the metadata needed to read it) reach stable storage. */
    public static void fdatasync(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r;
            do {
                r = (int) Fdatasync.H.invokeExact(errno, fd);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            if (r < 0) {
                throw new ErrnoException("fdatasync(" + fd + ")", Native.errno(errno));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** fallocate(2) with {@code mode} (the FALLOC_FL_* flags) over {@code [offset, offset+length)}. */
    public static void fallocate(int fd, int mode, long offset, long length) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r;
            do {
                r = (int) Fallocate.H.invokeExact(errno, fd, mode, offset, length);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            if (r < 0) {
                throw new ErrnoException("fallocate(" + fd + ", 0x" + Integer.toHexString(mode) + ", " + offset + ", "
                        + length + ")", Native.errno(errno));
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
