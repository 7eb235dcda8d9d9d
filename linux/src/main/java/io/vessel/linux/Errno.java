package io.vessel.linux;

/** errno values of Linux x86-64 (include/uapi/asm-generic/errno-base.h and errno.h) with names and texts. */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
            ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16,
            EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24,
            ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EMLINK = 31, EPIPE = 32,
            ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61,
            EOVERFLOW = 75, ENOTSOCK = 88, EOPNOTSUPP = 95, EADDRINUSE = 98, ECONNREFUSED = 111;

    private static final String[] NAMES = new String[134];
    private static final String[] TEXTS = new String[134];

    static {
        def(1, "EPERM", "Operation not permitted");
        def(2, "ENOENT", "No such file or directory");
        def(3, "ESRCH", "No such process");
        def(4, "EINTR", "Interrupted system call");
        def(5, "EIO", "Input/output error");
        def(6, "ENXIO", "No such device or address");
        def(7, "E2BIG", "Argument list too long");
        def(8, "ENOEXEC", "Exec format error");
        def(9, "EBADF", "Bad file descriptor");
        def(10, "ECHILD", "No child processes");
        def(11, "EAGAIN", "Resource temporarily unavailable");
        def(12, "ENOMEM", "Cannot allocate memory");
        def(13, "EACCES", "Permission denied");
        def(14, "EFAULT", "Bad address");
        def(15, "ENOTBLK", "Block device required");
        def(16, "EBUSY", "Device or resource busy");
        def(17, "EEXIST", "File exists");
        def(18, "EXDEV", "Invalid cross-device link");
        def(19, "ENODEV", "No such device");
        def(20, "ENOTDIR", "Not a directory");
        def(21, "EISDIR", "Is a directory");
        def(22, "EINVAL", "Invalid argument");
        def(23, "ENFILE", "Too many open files in system");
        def(24, "EMFILE", "Too many open files");
        def(25, "ENOTTY", "Inappropriate ioctl for device");
        def(26, "ETXTBSY", "Text file busy");
        def(27, "EFBIG", "File too large");
        def(28, "ENOSPC", "No space left on device");
        def(29, "ESPIPE", "Illegal seek");
        def(30, "EROFS", "Read-only file system");
        def(31, "EMLINK", "Too many links");
        def(32, "EPIPE", "Broken pipe");
        def(33, "EDOM", "Numerical argument out of domain");
        def(34, "ERANGE", "Numerical result out of range");
        def(35, "EDEADLK", "Resource deadlock avoided");
        def(36, "ENAMETOOLONG", "File name too long");
        def(37, "ENOLCK", "No locks available");
        def(38, "ENOSYS", "Function not implemented");
        def(39, "ENOTEMPTY", "Directory not empty");
        def(40, "ELOOP", "Too many levels of symbolic links");
        def(61, "ENODATA", "No data available");
        def(62, "ETIME", "Timer expired");
        def(71, "EPROTO", "Protocol error");
        def(75, "EOVERFLOW", "Value too large for defined data type");
        def(88, "ENOTSOCK", "Socket operation on non-socket");
        def(90, "EMSGSIZE", "Message too long");
        def(95, "EOPNOTSUPP", "Operation not supported");
        def(97, "EAFNOSUPPORT", "Address family not supported by protocol");
        def(98, "EADDRINUSE", "Address already in use");
        def(99, "EADDRNOTAVAIL", "Cannot assign requested address");
        def(104, "ECONNRESET", "Connection reset by peer");
        def(110, "ETIMEDOUT", "Connection timed out");
        def(111, "ECONNREFUSED", "Connection refused");
        def(125, "ECANCELED", "Operation canceled");
    }

    private Errno() {
    }

    private static void def(int n, String name, String text) {
        NAMES[n] = name;
        TEXTS[n] = text;
    }

    public static String name(int errno) {
        return errno > 0 && errno < NAMES.length && NAMES[errno] != null ? NAMES[errno] : "errno " + errno;
    }

    /**
     * The errno whose text appears in an exception message of the JDK's own I/O (which reports
     * strerror(3) text, not numbers), or 0 if none does.
     */
    public static int fromMessage(String message) {
        if (message == null) {
            return 0;
        }
        int best = 0;
        int bestLength = 0;
        for (int i = 1; i < TEXTS.length; i++) {
            if (TEXTS[i] != null && TEXTS[i].length() > bestLength && message.contains(TEXTS[i])) {
                best = i;
                bestLength = TEXTS[i].length();
            }
        }
        return best;
    }

    public static String describe(int errno) {
        return errno > 0 && errno < TEXTS.length && TEXTS[errno] != null ? TEXTS[errno] : "unknown error";
    }
}
