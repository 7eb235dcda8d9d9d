package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_LONG;
import static io.vessel.linux.Native.C_POINTER;

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

    private static final class Spawn {
        static final MethodHandle SPAWN = Native.handle("posix_spawn", FunctionDescriptor.of(C_INT,
                C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER));
        static final MethodHandle FA_INIT = Native.handle("posix_spawn_file_actions_init",
                FunctionDescriptor.of(C_INT, C_POINTER));
        static final MethodHandle FA_DESTROY = Native.handle("posix_spawn_file_actions_destroy",
                FunctionDescriptor.of(C_INT, C_POINTER));
        static final MethodHandle FA_DUP2 = Native.handle("posix_spawn_file_actions_adddup2",
                FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT));
        static final MethodHandle FA_CLOSEFROM = Native.handle("posix_spawn_file_actions_addclosefrom_np",
                FunctionDescriptor.of(C_INT, C_POINTER, C_INT));
        static final MethodHandle ATTR_INIT = Native.handle("posix_spawnattr_init",
                FunctionDescriptor.of(C_INT, C_POINTER));
        static final MethodHandle ATTR_DESTROY = Native.handle("posix_spawnattr_destroy",
                FunctionDescriptor.of(C_INT, C_POINTER));
        static final MethodHandle ATTR_FLAGS = Native.handle("posix_spawnattr_setflags",
                FunctionDescriptor.of(C_INT, C_POINTER, ValueLayout.JAVA_SHORT));
        static final MethodHandle ATTR_SIGMASK = Native.handle("posix_spawnattr_setsigmask",
                FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER));
        static final MethodHandle ATTR_SIGDEFAULT = Native.handle("posix_spawnattr_setsigdefault",
                FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER));
        static final MethodHandle SIGFILLSET = Native.handle("sigfillset", FunctionDescriptor.of(C_INT, C_POINTER));
        static final MethodHandle SIGEMPTYSET = Native.handle("sigemptyset", FunctionDescriptor.of(C_INT, C_POINTER));
    }

    private static final class Syscall3 {
        // long syscall(long number, ...): three int arguments
        static final MethodHandle H = Native.variadicErrnoHandle("syscall",
                FunctionDescriptor.of(C_LONG, C_LONG, C_INT, C_INT, C_INT), 1);
    }

    private static final class Syscall4 {
        static final MethodHandle H = Native.variadicErrnoHandle("syscall",
                FunctionDescriptor.of(C_LONG, C_LONG, C_INT, C_INT, C_POINTER, C_INT), 1);
    }

    private static final class Waitid {
        static final MethodHandle H = Native.errnoHandle("waitid",
                FunctionDescriptor.of(C_INT, C_INT, C_INT, C_POINTER, C_INT));
    }

    private static final class Kill {
        static final MethodHandle H = Native.errnoHandle("kill", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    }

    private static final class Prctl {
        static final MethodHandle H = Native.variadicErrnoHandle("prctl",
                FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_LONG, C_LONG, C_LONG), 1);
    }

    private static final class Rlimit {
        static final MethodHandle SET = Native.errnoHandle("setrlimit", FunctionDescriptor.of(C_INT, C_INT, C_POINTER));
    }

    private static final class Hostname {
        static final MethodHandle H = Native.errnoHandle("sethostname", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG));
    }

    /**
     * posix_spawn(3) of {@code path} where the child's descriptor {@code i} is the parent's
     * {@code fds[i]} (-1: closed), every descriptor from {@code fds.length} on closed, all signals
     * unblocked and at their default disposition. Returns the child's pid.
     */
    public static int spawn(String path, List<String> argv, List<String> env, int[] fds) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment actions = arena.allocate(SPAWN_STRUCT_SIZE, 16);
            MemorySegment attr = arena.allocate(SPAWN_STRUCT_SIZE, 16);
            int r = (int) Spawn.FA_INIT.invokeExact(actions);
            r |= (int) Spawn.ATTR_INIT.invokeExact(attr);
            try {
                // Move sources out of the way first, so that dup2 into low numbers cannot clobber a later source.
                int high = 1000;
                for (int i = 0; i < fds.length; i++) {
                    if (fds[i] >= 0) {
                        r |= (int) Spawn.FA_DUP2.invokeExact(actions, fds[i], high + i);
                    }
                }
                for (int i = 0; i < fds.length; i++) {
                    if (fds[i] >= 0) {
                        r |= (int) Spawn.FA_DUP2.invokeExact(actions, high + i, i);
                    }
                }
                r |= (int) Spawn.FA_CLOSEFROM.invokeExact(actions, fds.length);
                MemorySegment all = arena.allocate(SIGSET_SIZE);
                MemorySegment none = arena.allocate(SIGSET_SIZE);
                r |= (int) Spawn.SIGFILLSET.invokeExact(all);
                r |= (int) Spawn.SIGEMPTYSET.invokeExact(none);
                r |= (int) Spawn.ATTR_SIGDEFAULT.invokeExact(attr, all);
                r |= (int) Spawn.ATTR_SIGMASK.invokeExact(attr, none);
                r |= (int) Spawn.ATTR_FLAGS.invokeExact(attr, (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
                if (r != 0) {
                    throw new ErrnoException("posix_spawn setup for " + path, Errno.EINVAL);
                }
                MemorySegment pid = arena.allocate(C_INT);
                int err = (int) Spawn.SPAWN.invokeExact(pid, Native.cString(arena, path), actions, attr,
                        Native.cStringArray(arena, argv), Native.cStringArray(arena, env));
                if (err != 0) {
                    throw new ErrnoException("posix_spawn(\"" + path + "\")", err);
                }
                return pid.get(C_INT, 0);
            } finally {
                int ignored = (int) Spawn.FA_DESTROY.invokeExact(actions);
                ignored = (int) Spawn.ATTR_DESTROY.invokeExact(attr);
            }
        } catch (Throwable t) {
            throw Native.rethrow(t);
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
                r = (int) Waitid.H.invokeExact(errno, idType, id, info, WEXITED | extra);
            } while (r < 0 && Native.errno(errno) == Errno.EINTR);
            Native.check(r, errno, () -> "waitid(" + idType + ", " + id + ")");
            int pid = info.get(C_INT, SI_PID);
            if (pid == 0) {
                return null;
            }
            return new ExitStatus(pid, info.get(C_INT, SI_CODE) == CLD_EXITED, info.get(C_INT, SI_STATUS));
        } catch (Throwable t) {
            throw Native.rethrow(t);
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
            int r = (int) Kill.H.invokeExact(errno, pid, signal);
            Native.check(r, errno, () -> "kill(" + pid + ", " + Signals.name(signal) + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** pidfd_open(2): a descriptor that keeps naming this process even after its pid is reused. */
    public static Fd pidfdOpen(int pid) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long r = (long) Syscall3.H.invokeExact(errno, SYS_PIDFD_OPEN, pid, 0, 0);
            Native.check(r, errno, () -> "pidfd_open(" + pid + ")");
            return Fd.adopt((int) r);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** pidfd_send_signal(2). */
    public static void pidfdSendSignal(Fd pidfd, int signal) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long r = (long) Syscall4.H.invokeExact(errno, SYS_PIDFD_SEND_SIGNAL, pidfd.num(), signal,
                    MemorySegment.NULL, 0);
            Native.check(r, errno, () -> "pidfd_send_signal(" + pidfd + ", " + Signals.name(signal) + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** prctl(2) with up to four arguments. */
    public static int prctl(int option, long a2, long a3, long a4, long a5) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) Prctl.H.invokeExact(errno, option, a2, a3, a4, a5);
            return (int) Native.check(r, errno, () -> "prctl(" + option + ", " + a2 + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** setrlimit(2) of the calling process. */
    public static void setrlimit(int resource, long soft, long hard) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment lim = arena.allocate(16);
            lim.set(C_LONG, 0, soft);
            lim.set(C_LONG, 8, hard);
            int r = (int) Rlimit.SET.invokeExact(errno, resource, lim);
            Native.check(r, errno, () -> "setrlimit(" + resource + ", " + soft + ", " + hard + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** sethostname(2) in the caller's uts namespace. */
    public static void sethostname(String name) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            byte[] b = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int r = (int) Hostname.H.invokeExact(errno, arena.allocateFrom(ValueLayout.JAVA_BYTE, b), (long) b.length);
            Native.check(r, errno, () -> "sethostname(\"" + name + "\")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }
}
