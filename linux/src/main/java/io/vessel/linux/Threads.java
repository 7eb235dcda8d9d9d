package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.vessel.linux.Native.C_POINTER;

/**
 * Signalling one thread of this process: its kernel thread id (gettid(2)), tgkill(2), and a
 * handler that does nothing. A thread blocked in a system call (a vCPU in {@code KVM_RUN}) returns
 * with EINTR when a signal with a handler reaches it; an ignored signal would be dropped and wake
 * nothing, and a Java upcall is not safe in a signal handler, hence a native no-op.
 */
public final class Threads {
    /** glibc's struct sigaction on x86-64: sa_handler 8, sa_mask 128, sa_flags 4 (+4 padding), sa_restorer 8. */
    private static final long SIGACTION_SIZE = 152, SA_MASK = 8, SA_FLAGS = 136;
    /** asm-generic/signal-defs.h: restart interrupted calls the JVM makes; KVM_RUN still returns EINTR. */
    private static final int SA_RESTART = 0x10000000;
    /** The x86 {@code ret} instruction: the whole no-op handler. */
    private static final byte X86_RET = (byte) 0xC3;
    private static final int PROT_EXEC = 4;

    private static MemorySegment noOpHandler;

    private Threads() {
    }

    private static final Native.Function GETTID = Native.function("gettid");
    private static final Native.Function GETPID = Native.function("getpid");
    private static final Native.Function TGKILL = Native.function("tgkill");
    private static final Native.Function SIGACTION = Native.function("sigaction");
    private static final Native.Function MPROTECT = Native.function("mprotect");

    /** The calling thread's kernel thread id. */
    public static int gettid() {
        return (int) GETTID.call(Native.UNREAD_ERRNO);
    }

    public static int getpid() {
        return (int) GETPID.call(Native.UNREAD_ERRNO);
    }

    /** Sends {@code signal} to thread {@code tid} of this process. */
    public static void tgkill(int tid, int signal) throws ErrnoException {
        int pid = getpid();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) TGKILL.call(errno, pid, tid, signal);
            Native.check(r, errno, () -> "tgkill(" + pid + ", " + tid + ", " + Signals.name(signal) + ")");
        }
    }

    /**
     * Installs a handler for {@code signal} that returns at once, so that the signal interrupts a
     * blocking system call of the thread it is sent to and does nothing else. Idempotent.
     */
    public static synchronized void installNoOpHandler(int signal) throws ErrnoException {
        if (signal < Signals.SIGRTMIN || signal > Signals.SIGRTMAX) {
            throw new IllegalArgumentException("a no-op handler is only for real-time signals, not " + Signals.name(signal));
        }
        MemorySegment handler = noOpHandler();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment act = arena.allocate(SIGACTION_SIZE);
            act.set(C_POINTER, 0, handler);
            act.set(ValueLayout.JAVA_INT, SA_FLAGS, SA_RESTART);
            // sa_mask stays empty: nothing else is blocked while the handler runs
            assert act.get(ValueLayout.JAVA_LONG, SA_MASK) == 0;
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) SIGACTION.call(errno, signal, Native.ptr(act), 0);
            Native.check(r, errno, () -> "sigaction(" + Signals.name(signal) + ", no-op handler)");
        }
    }

    /** One page holding a single {@code ret}, made read+execute: lives as long as the process. */
    private static MemorySegment noOpHandler() throws ErrnoException {
        if (noOpHandler == null) {
            MemorySegment page = Mman.anonymous(4096);
            page.set(ValueLayout.JAVA_BYTE, 0, X86_RET);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment errno = Native.errnoSegment(arena);
                int r = (int) MPROTECT.call(errno, Native.ptr(page), page.byteSize(), Mman.PROT_READ | PROT_EXEC);
                Native.check(r, errno, () -> "mprotect(no-op handler page, PROT_READ|PROT_EXEC)");
            } catch (Throwable t) {
                Mman.munmap(page);
                throw Native.rethrow(t);
            }
            noOpHandler = page;
        }
        return noOpHandler;
    }
}
