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
 * Linking to libc: one downcall handle per function (and per variadic signature), each capturing
 * {@code errno} into a per-call segment so that concurrent callers never race on it.
 *
 * <p>Convention for every binding in this package: the first parameter of the Java-side handle is
 * the errno capture segment made by {@link #errnoSegment}; after the call, if the return value
 * signals failure, read it at once with {@link #errno} and throw {@link ErrnoException}.
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

    private Native() {
    }

    /** A handle to libc function {@code name} whose errno is captured (first argument: the capture segment). */
    public static MethodHandle errnoHandle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(symbol(name), fd, CAPTURE_ERRNO);
    }

    /** A handle to a variadic libc function; {@code fixed} is the number of non-variadic parameters. */
    public static MethodHandle variadicErrnoHandle(String name, FunctionDescriptor fd, int fixed) {
        return LINKER.downcallHandle(symbol(name), fd, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(fixed));
    }

    /** A handle to a libc function that does not set errno. */
    public static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(symbol(name), fd);
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
