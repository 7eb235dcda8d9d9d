package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.vessel.linux.Native.C_LONG;

/** File-level system calls that java.nio does not offer: open(2) flags, FIFOs, device nodes, raw fds. */
public final class Files {
    // fcntl.h, x86-64
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200,
            O_NOCTTY = 0400, O_TRUNC = 01000, O_APPEND = 02000, O_NONBLOCK = 04000, O_DIRECTORY = 0200000,
            O_NOFOLLOW = 0400000, O_CLOEXEC = 02000000, O_PATH = 010000000;
    public static final int AT_FDCWD = -100;
    // fcntl.h: utimensat(2) flag
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    // sys/xattr.h: setxattr(2) flags
    public static final int XATTR_CREATE = 1, XATTR_REPLACE = 2;
    public static final int S_IFIFO = 0010000, S_IFCHR = 0020000, S_IFBLK = 0060000, S_IFREG = 0100000;

    private Files() {
    }

    // int open(const char *pathname, int flags, ...);
    private static final Native.Function OPEN = Native.function("open");

    private static final Native.Function CLOSE = Native.function("close");

    // int mknod(const char *pathname, mode_t mode, dev_t dev);
    private static final Native.Function MKNOD = Native.function("mknod");

    private static final Native.Function LCHOWN = Native.function("lchown");

    // int chmod(const char *pathname, mode_t mode);
    private static final Native.Function CHMOD = Native.function("chmod");

    // int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags);
    private static final Native.Function LSETXATTR = Native.function("lsetxattr");

    // ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size);
    private static final Native.Function LGETXATTR = Native.function("lgetxattr");

    // ssize_t llistxattr(const char *path, char *list, size_t size);
    private static final Native.Function LLISTXATTR = Native.function("llistxattr");

    // int utimensat(int dirfd, const char *pathname, const struct timespec times[2], int flags);
    private static final Native.Function UTIMENSAT = Native.function("utimensat");

    private static final Native.Function READ = Native.function("read");

    private static final Native.Function WRITE = Native.function("write");

    private static final Native.Function DUP = Native.function("dup");

    /** open(2). */
    public static Fd open(String path, int flags, int mode) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int fd = (int) OPEN.call(errno, Native.ptr(Native.cString(arena, path)), flags, mode);
            if (fd < 0) {
                throw new ErrnoException("open(\"" + path + "\", 0" + Integer.toOctalString(flags) + ")",
                        Native.errno(errno));
            }
            return Fd.adopt(fd);
        }
    }

    /** mknod(2); a FIFO when mode has S_IFIFO. */
    public static void mknod(String path, int mode, long dev) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) MKNOD.call(errno, Native.ptr(Native.cString(arena, path)), mode, dev);
            if (r < 0) {
                throw new ErrnoException("mknod(\"" + path + "\", 0" + Integer.toOctalString(mode) + ", " + dev + ")",
                        Native.errno(errno));
            }
        }
    }

    /** Makes a FIFO (named pipe). */
    public static void mkfifo(String path, int mode) throws ErrnoException {
        mknod(path, S_IFIFO | mode, 0);
    }

    /** makedev(3) for Linux's dev_t encoding. */
    public static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8) | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    /** lchown(2): ownership of the path itself, symlinks not followed. */
    public static void lchown(String path, long uid, long gid) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) LCHOWN.call(errno, Native.ptr(Native.cString(arena, path)), (int) uid, (int) gid);
            if (r < 0) {
                throw new ErrnoException("lchown(\"" + path + "\", " + uid + ", " + gid + ")", Native.errno(errno));
            }
        }
    }

    /** chmod(2): all twelve mode bits (setuid, setgid, sticky included); follows symlinks, so never give it one. */
    public static void chmod(String path, int mode) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) CHMOD.call(errno, Native.ptr(Native.cString(arena, path)), mode);
            if (r < 0) {
                throw new ErrnoException("chmod(\"" + path + "\", 0" + Integer.toOctalString(mode) + ")",
                        Native.errno(errno));
            }
        }
    }

    /** lsetxattr(2): sets an extended attribute of the path itself, symlinks not followed. */
    public static void lsetxattr(String path, String name, byte[] value, int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment mem = value.length == 0 ? arena.allocate(1)
                    : arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, value);
            int r = (int) LSETXATTR.call(errno, Native.ptr(Native.cString(arena, path)),
                    Native.ptr(Native.cString(arena, name)), Native.ptr(mem),
                    (long) value.length, flags);
            if (r < 0) {
                throw new ErrnoException("lsetxattr(\"" + path + "\", \"" + name + "\", " + value.length + " bytes, "
                        + flags + ")", Native.errno(errno));
            }
        }
    }

    /** lgetxattr(2): an extended attribute of the path itself, or null if it has none of that name. */
    public static byte[] lgetxattr(String path, String name) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment cPath = Native.cString(arena, path);
            MemorySegment cName = Native.cString(arena, name);
            while (true) {
                long size = LGETXATTR.call(errno, Native.ptr(cPath), Native.ptr(cName), 0, 0L);
                long n = size;
                MemorySegment mem = MemorySegment.NULL;
                if (size >= 0) {
                    mem = arena.allocate(Math.max(1, size));
                    n = LGETXATTR.call(errno, Native.ptr(cPath), Native.ptr(cName), Native.ptr(mem), size);
                }
                if (n >= 0) {
                    return mem.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                }
                int e = Native.errno(errno);
                if (e == Errno.ENODATA) {
                    return null;
                }
                if (e != Errno.ERANGE) { // ERANGE: the value grew between the two calls; ask again
                    throw new ErrnoException("lgetxattr(\"" + path + "\", \"" + name + "\")", e);
                }
            }
        }
    }

    /**
     * llistxattr(2): the names of the path's extended attributes (symlinks not followed), in the
     * order the file system gives them; what a copy that keeps xattrs needs to enumerate them.
     */
    public static java.util.List<String> llistxattr(String path) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment cPath = Native.cString(arena, path);
            while (true) {
                long size = LLISTXATTR.call(errno, Native.ptr(cPath), 0, 0L);
                long n = size;
                MemorySegment mem = MemorySegment.NULL;
                if (size > 0) {
                    mem = arena.allocate(size);
                    n = LLISTXATTR.call(errno, Native.ptr(cPath), Native.ptr(mem), size);
                }
                if (n >= 0) {
                    java.util.List<String> names = new java.util.ArrayList<>();
                    int start = 0;
                    for (int i = 0; i < n; i++) {
                        if (mem.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) == 0) {
                            if (i > start) {
                                names.add(new String(mem.asSlice(start, i - start)
                                        .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                                        java.nio.charset.StandardCharsets.UTF_8));
                            }
                            start = i + 1;
                        }
                    }
                    return names;
                }
                int e = Native.errno(errno);
                if (e == Errno.EOPNOTSUPP) {
                    return java.util.List.of(); // the file system has no xattrs at all
                }
                if (e != Errno.ERANGE) { // ERANGE: the list grew between the two calls; ask again
                    throw new ErrnoException("llistxattr(\"" + path + "\")", e);
                }
            }
        }
    }

    /**
     * utimensat(2) relative to the working directory with {@code flags} (e.g. {@link #AT_SYMLINK_NOFOLLOW}):
     * sets access and modification times, each as seconds and nanoseconds since the epoch.
     */
    public static void utimensat(String path, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec, int flags)
            throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            // struct timespec { time_t tv_sec; long tv_nsec; } times[2], x86-64
            MemorySegment times = arena.allocate(C_LONG, 4);
            times.setAtIndex(C_LONG, 0, atimeSec);
            times.setAtIndex(C_LONG, 1, atimeNsec);
            times.setAtIndex(C_LONG, 2, mtimeSec);
            times.setAtIndex(C_LONG, 3, mtimeNsec);
            int r = (int) UTIMENSAT.call(errno, AT_FDCWD, Native.ptr(Native.cString(arena, path)),
                    Native.ptr(times), flags);
            if (r < 0) {
                throw new ErrnoException("utimensat(AT_FDCWD, \"" + path + "\", [" + atimeSec + "." + atimeNsec + ", "
                        + mtimeSec + "." + mtimeNsec + "], 0x" + Integer.toHexString(flags) + ")", Native.errno(errno));
            }
        }
    }

    /** read(2) into {@code buf}; returns the count, 0 at end of file. */
    public static int read(int fd, byte[] buf) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment mem = arena.allocate(buf.length);
            long n;
            do {
                n = READ.call(errno, fd, Native.ptr(mem), (long) buf.length);
            } while (n < 0 && Native.errno(errno) == Errno.EINTR);
            if (n < 0) {
                throw new ErrnoException("read(" + fd + ")", Native.errno(errno));
            }
            MemorySegment.copy(mem, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, buf, 0, (int) n);
            return (int) n;
        }
    }

    /** write(2) of all of {@code data}. */
    public static void write(int fd, byte[] data) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment mem = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, data);
            long off = 0;
            while (off < data.length) {
                long n = WRITE.call(errno, fd, Native.ptr(mem.asSlice(off)), (long) data.length - off);
                if (n < 0) {
                    if (Native.errno(errno) == Errno.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("write(" + fd + ")", Native.errno(errno));
                }
                off += n;
            }
        }
    }

    /** dup(2). */
    public static Fd dup(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) DUP.call(errno, fd);
            if (r < 0) {
                throw new ErrnoException("dup(" + fd + ")", Native.errno(errno));
            }
            return Fd.adopt(r);
        }
    }

    static void closeQuietly(int fd) {
        CLOSE.call(Native.UNREAD_ERRNO, fd); // every Fd's close: no arena for an errno nobody reads
    }
}
