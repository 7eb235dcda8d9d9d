package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Calling libc. Every function is called through one downcall shape, {@code long f(long, long,
 * long, long, long, long)} with {@code errno} captured: a {@link Function} is a symbol's address,
 * and {@link Function#call} passes integers and pointers ({@link #ptr}) as longs, padding the
 * unused arguments with zeros. The JVM spins a class for each distinct downcall shape it links,
 * which costs 10 to 30 ms each in the interpreter, so a process that links 20 shapes spends more
 * time linking than working; with one shape it links once. This is sound on x86-64 (System V):
 * integer and pointer arguments travel in the same six registers whatever their C type, a callee
 * ignores the registers it does not read, the linker always sets {@code al} (which variadic
 * callees read) for every downcall, and a C {@code int} result is the low half of {@code rax},
 * which the caller narrows with {@code (int)}.
 *
 * <p>Convention for every binding in this package: the first argument of a call is an errno
 * capture segment: one made by {@link #errnoSegment} in the call's arena, the thread's
 * {@link #scratch} one on a hot path, one a caller allocated once and reuses, or
 * {@link #UNREAD_ERRNO} when nobody reads it; after the call, if the return value signals
 * failure, read it at once with {@link #errno} and throw {@link ErrnoException}. A binding whose
 * C function returns {@code int} narrows the result before testing it.
 */
public final class Native {
    public static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final MemoryLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfLong C_SIZE_T = ValueLayout.JAVA_LONG;
    public static final java.lang.foreign.AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** The one shape: (target, errno capture, six longs) → long. */
    private static final MethodHandle CALL = LINKER.downcallHandle(FunctionDescriptor.of(C_LONG,
            C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG), CAPTURE_ERRNO);
    /**
     * The capture segment for calls whose errno nobody reads (functions that cannot fail, or that
     * report failure otherwise); concurrent calls write it harmlessly.
     */
    public static final MemorySegment UNREAD_ERRNO = Arena.global().allocate(CAPTURE_LAYOUT);

    /** Per thread: see {@link #scratch}. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Native() {
    }

    /**
     * The calling thread's scratch memory for a short call on a hot path: an errno capture and
     * {@link #DATA_BYTES} bytes for the call's small arguments or results. It saves making and
     * closing an arena per call (several microseconds each in the interpreter, which is what a
     * VMM's device threads run). Valid only on this thread and only until the caller's next use
     * of it: a method takes it, makes its call, reads what it needs, and calls nothing else that
     * takes it meanwhile. Freed with the thread.
     */
    public static final class Scratch {
        public static final long DATA_BYTES = 64;
        public final MemorySegment errno;
        public final MemorySegment data;

        private Scratch() {
            Arena arena = Arena.ofAuto();
            this.errno = arena.allocate(CAPTURE_LAYOUT);
            this.data = arena.allocate(DATA_BYTES, 8);
        }
    }

    /** The calling thread's {@link Scratch}. */
    public static Scratch scratch() {
        return SCRATCH.get();
    }

    /** A libc function, called through the shared shape (see the class comment). */
    public record Function(String name, MemorySegment address) {
        public long call(MemorySegment errno) {
            return call(errno, 0, 0, 0, 0, 0, 0);
        }

        public long call(MemorySegment errno, long a) {
            return call(errno, a, 0, 0, 0, 0, 0);
        }

        public long call(MemorySegment errno, long a, long b) {
            return call(errno, a, b, 0, 0, 0, 0);
        }

        public long call(MemorySegment errno, long a, long b, long c) {
            return call(errno, a, b, c, 0, 0, 0);
        }

        public long call(MemorySegment errno, long a, long b, long c, long d) {
            return call(errno, a, b, c, d, 0, 0);
        }

        public long call(MemorySegment errno, long a, long b, long c, long d, long e) {
            return call(errno, a, b, c, d, e, 0);
        }

        public long call(MemorySegment errno, long a, long b, long c, long d, long e, long f) {
            try {
                return (long) CALL.invokeExact(address, errno, a, b, c, d, e, f);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** libc's function {@code name}; fails with {@link UnsatisfiedLinkError} if libc lacks it. */
    public static Function function(String name) {
        return new Function(name, symbol(name));
    }

    /**
     * A native segment's address, to pass as a pointer argument; {@code NULL} is 0. A heap segment
     * has no address a C function could use, so it is refused rather than passed as a wrong pointer.
     * The caller keeps the segment alive for the call (a confined arena around it does).
     */
    public static long ptr(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("a heap segment cannot be passed to a C function");
        }
        return segment.address();
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
    }

    /** A segment for one call's captured errno, in the caller's arena. */
    public static MemorySegment errnoSegment(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    public static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** A NUL-terminated UTF-8 copy of {@code s}. */
    public static MemorySegment cString(Arena arena, String s) {
        return arena.allocateFrom(s, StandardCharsets.UTF_8);
    }

    /** A NULL-terminated array of C strings, as argv and envp are. */
    public static MemorySegment cStringArray(Arena arena, List<String> strings) {
        MemorySegment array = arena.allocate(C_POINTER, strings.size() + 1L);
        for (int i = 0; i < strings.size(); i++) {
            array.setAtIndex(C_POINTER, i, cString(arena, strings.get(i)));
        }
        array.setAtIndex(C_POINTER, strings.size(), MemorySegment.NULL);
        return array;
    }

    /**
     * Rethrows what {@code invokeExact} threw (the bindings' own {@link ErrnoException}, a runtime
     * exception or an error) without wrapping: {@code catch (Throwable t) { throw Native.rethrow(t); }}.
     */
    public static RuntimeException rethrow(Throwable t) {
        throw Native.<RuntimeException>sneaky(t);
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T sneaky(Throwable t) throws T {
        throw (T) t;
    }

    /** Throws {@link ErrnoException} for a negative result, with the call described lazily. */
    public static long check(long result, MemorySegment capture, java.util.function.Supplier<String> call)
            throws ErrnoException {
        if (result < 0) {
            throw new ErrnoException(call.get(), errno(capture));
        }
        return result;
    }
}
