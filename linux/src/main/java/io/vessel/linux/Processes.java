package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_LONG;

/** Processes: posix_spawn with exact descriptor placement, waiting, signals through pidfds, prctl, rlimits. */
public final class Processes {
    // x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl)
    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;
    // waitid(2) idtype and options
    public static final int P_PID = 1, P_PIDFD = 3;
    public static final int WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000;
    // siginfo_t offsets on x86-64: si_signo 0, si_code 8, si_pid 16, si_status 24
    private static final long SI_CODE = 8, SI_PID = 16, SI_STATUS = 24;
    private static final int CLD_EXITED = 1;
    // <spawn.h> flags
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSIGDEF = 0x04;
    /** sizeof(posix_spawn_file_actions_t) is 80 and sizeof(posix_spawnattr_t) 336 on glibc x86-64; leave room. */
    private static final long SPAWN_STRUCT_SIZE = 512;
    private static final long SIGSET_SIZE = 128;

    private Processes() {
    }

    private static final Native.Function POSIX_SPAWN = Native.function("posix_spawn");
    private static final Native.Function POSIX_SPAWN_FILE_ACTIONS_INIT =
            Native.function("posix_spawn_file_actions_init");
    private static final Native.Function POSIX_SPAWN_FILE_ACTIONS_DESTROY =
            Native.function("posix_spawn_file_actions_destroy");
    private static final Native.Function POSIX_SPAWN_FILE_ACTIONS_ADDDUP2 =
            Native.function("posix_spawn_file_actions_adddup2");
    private static final Native.Function POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP =
            Native.function("posix_spawn_file_actions_addclosefrom_np");
    private static final Native.Function POSIX_SPAWNATTR_INIT = Native.function("posix_spawnattr_init");
    private static final Native.Function POSIX_SPAWNATTR_DESTROY = Native.function("posix_spawnattr_destroy");
    private static final Native.Function POSIX_SPAWNATTR_SETFLAGS = Native.function("posix_spawnattr_setflags");
    private static final Native.Function POSIX_SPAWNATTR_SETSIGMASK = Native.function("posix_spawnattr_setsigmask");
    private static final Native.Function POSIX_SPAWNATTR_SETSIGDEFAULT =
            Native.function("posix_spawnattr_setsigdefault");
    private static final Native.Function SIGFILLSET = Native.function("sigfillset");
    private static final Native.Function SIGEMPTYSET = Native.function("sigemptyset");

    // long syscall(long number, ...): pidfd_open and pidfd_send_signal
    private static final Native.Function SYSCALL = Native.function("syscall");

    private static final Native.Function WAITID = Native.function("waitid");

    private static final Native.Function KILL = Native.function("kill");

    private static final Native.Function PRCTL = Native.function("prctl");

    private static final Native.Function SETRLIMIT = Native.function("setrlimit");

    private static final Native.Function SETHOSTNAME = Native.function("sethostname");

    /**
     * posix_spawn(3) of {@code path} where the child's descriptor {@code i} is the parent's
     * {@code fds[i]} (-1: closed), every descriptor from {@code fds.length} on closed, all signals
     * unblocked and at their default disposition. Returns the child's pid.
     */
    public static int spawn(String path, List<String> argv, List<String> env, int[] fds) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment actions = arena.allocate(SPAWN_STRUCT_SIZE, 16);
            MemorySegment attr = arena.allocate(SPAWN_STRUCT_SIZE, 16);
            int r = (int) POSIX_SPAWN_FILE_ACTIONS_INIT.call(Native.UNREAD_ERRNO, Native.ptr(actions));
            r |= (int) POSIX_SPAWNATTR_INIT.call(Native.UNREAD_ERRNO, Native.ptr(attr));
            try {
                // Move sources out of the way first, so that dup2 into low numbers cannot clobber a later source.
                int high = 1000;
                for (int i = 0; i < fds.length; i++) {
                    if (fds[i] >= 0) {
                        r |= (int) POSIX_SPAWN_FILE_ACTIONS_ADDDUP2.call(Native.UNREAD_ERRNO, Native.ptr(actions),
                                fds[i], high + i);
                    }
                }
                for (int i = 0; i < fds.length; i++) {
                    if (fds[i] >= 0) {
                        r |= (int) POSIX_SPAWN_FILE_ACTIONS_ADDDUP2.call(Native.UNREAD_ERRNO, Native.ptr(actions),
                                high + i, i);
                    }
                }
                r |= (int) POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP.call(Native.UNREAD_ERRNO, Native.ptr(actions),
                        fds.length);
                MemorySegment all = arena.allocate(SIGSET_SIZE);
                MemorySegment none = arena.allocate(SIGSET_SIZE);
                r |= (int) SIGFILLSET.call(Native.UNREAD_ERRNO, Native.ptr(all));
                r |= (int) SIGEMPTYSET.call(Native.UNREAD_ERRNO, Native.ptr(none));
                r |= (int) POSIX_SPAWNATTR_SETSIGDEFAULT.call(Native.UNREAD_ERRNO, Native.ptr(attr), Native.ptr(all));
                r |= (int) POSIX_SPAWNATTR_SETSIGMASK.call(Native.UNREAD_ERRNO, Native.ptr(attr), Native.ptr(none));
                r |= (int) POSIX_SPAWNATTR_SETFLAGS.call(Native.UNREAD_ERRNO, Native.ptr(attr),
                        (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
                if (r != 0) {
                    throw new ErrnoException("posix_spawn setup for " + path, Errno.EINVAL);
                }
                MemorySegment pid = arena.allocate(C_INT);
                int err = (int) POSIX_SPAWN.call(Native.UNREAD_ERRNO, Native.ptr(pid),
                        Native.ptr(Native.cString(arena, path)), Native.ptr(actions), Native.ptr(attr),
                        Native.ptr(Native.cStringArray(arena, argv)), Native.ptr(Native.cStringArray(arena, env)));
                if (err != 0) {
                    throw new ErrnoException("posix_spawn(\"" + path + "\")", err);
                }
                return pid.get(C_INT, 0);
            } finally {
                int ignored = (int) POSIX_SPAWN_FILE_ACTIONS_DESTROY.call(Native.UNREAD_ERRNO, Native.ptr(actions));
                ignored = (int) POSIX_SPAWNATTR_DESTROY.call(Native.UNREAD_ERRNO, Native.ptr(attr));
            }
        }
    }

    /** How a child ended: exited with a code, or killed by a signal. */
    public record ExitStatus(int pid, boolean exited, int code) {
        /** The shell's convention: the exit code, or 128 + the signal number. */
        public int shellCode() {
            return exited ? code : 128 + code;
        }
    }

    /**
     * waitid(2) for {@code pid} with {@code WEXITED | extra}; returns null when {@code WNOHANG} is
     * given and the child has not ended.
     */
    public static ExitStatus waitFor(int idType, int id, int extra) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment info = arena.allocate(128);
            int r;
            do {
                r = (int) WAITID.call(errno, idType, id, Native.ptr(info), WEXITED | extra);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            Native.check(r, errno, () -> "waitid(" + idType + ", " + id + ")");
            int pid = info.get(C_INT, SI_PID);
            if (pid == 0) {
                return null;
            }
            return new ExitStatus(pid, info.get(C_INT, SI_CODE) == CLD_EXITED, info.get(C_INT, SI_STATUS));
        }
    }

    /** Waits for child {@code pid} to end and reaps it. */
    public static ExitStatus waitFor(int pid) throws ErrnoException {
        return waitFor(P_PID, pid, 0);
    }

    /** kill(2). */
    public static void kill(int pid, int signal) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) KILL.call(errno, pid, signal);
            Native.check(r, errno, () -> "kill(" + pid + ", " + Signals.name(signal) + ")");
        }
    }

    /** pidfd_open(2): a descriptor that keeps naming this process even after its pid is reused. */
    public static Fd pidfdOpen(int pid) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long r = SYSCALL.call(errno, SYS_PIDFD_OPEN, pid, 0, 0);
            Native.check(r, errno, () -> "pidfd_open(" + pid + ")");
            return Fd.adopt((int) r);
        }
    }

    /** pidfd_send_signal(2). */
    public static void pidfdSendSignal(Fd pidfd, int signal) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long r = SYSCALL.call(errno, SYS_PIDFD_SEND_SIGNAL, pidfd.num(), signal,
                    0, 0);
            Native.check(r, errno, () -> "pidfd_send_signal(" + pidfd + ", " + Signals.name(signal) + ")");
        }
    }

    /** prctl(2) with up to four arguments. */
    public static int prctl(int option, long a2, long a3, long a4, long a5) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) PRCTL.call(errno, option, a2, a3, a4, a5);
            return (int) Native.check(r, errno, () -> "prctl(" + option + ", " + a2 + ")");
        }
    }

    /** setrlimit(2) of the calling process. */
    public static void setrlimit(int resource, long soft, long hard) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment lim = arena.allocate(16);
            lim.set(C_LONG, 0, soft);
            lim.set(C_LONG, 8, hard);
            int r = (int) SETRLIMIT.call(errno, resource, Native.ptr(lim));
            Native.check(r, errno, () -> "setrlimit(" + resource + ", " + soft + ", " + hard + ")");
        }
    }

    /** sethostname(2) in the caller's uts namespace. */
    public static void sethostname(String name) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            byte[] b = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int r = (int) SETHOSTNAME.call(errno, Native.ptr(arena.allocateFrom(ValueLayout.JAVA_BYTE, b)),
                    (long) b.length);
            Native.check(r, errno, () -> "sethostname(\"" + name + "\")");
        }
    }
}
