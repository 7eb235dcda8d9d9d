package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.util.Optional;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_POINTER;
import static io.vessel.linux.Native.C_SIZE_T;

/**
 * SHA-256 and SHA-512 from the system's OpenSSL libcrypto (EVP interface), for short-lived commands
 * that hash tens of megabytes: the JDK's implementation reaches the CPU's SHA instructions only once
 * C2 has compiled it, and until then (the whole of a typical pull) runs 20 to 100 times slower.
 * libcrypto uses them from the first byte. Absent libcrypto, {@link #sha256()} is empty and callers
 * use the JDK.
 */
public final class NativeDigest {
    /** Largest digest (SHA-512), EVP_MAX_MD_SIZE is 64. */
    private static final int MAX_DIGEST = 64;
    private static final Cleaner CLEANER = Cleaner.create();

    private NativeDigest() {
    }

    private static final class Lib {
        static final MethodHandle NEW, FREE, INIT, UPDATE, FINAL, SHA256, SHA512;

        static {
            MethodHandle n = null, f = null, i = null, u = null, fi = null, s256 = null, s512 = null;
            try {
                SymbolLookup crypto = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
                Linker l = Native.LINKER;
                n = l.downcallHandle(crypto.findOrThrow("EVP_MD_CTX_new"), FunctionDescriptor.of(C_POINTER));
                f = l.downcallHandle(crypto.findOrThrow("EVP_MD_CTX_free"), FunctionDescriptor.ofVoid(C_POINTER));
                i = l.downcallHandle(crypto.findOrThrow("EVP_DigestInit_ex"),
                        FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER));
                // critical: the bytes are passed straight from the Java array, no copy (the call is short).
                u = l.downcallHandle(crypto.findOrThrow("EVP_DigestUpdate"),
                        FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_SIZE_T), Linker.Option.critical(true));
                fi = l.downcallHandle(crypto.findOrThrow("EVP_DigestFinal_ex"),
                        FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER), Linker.Option.critical(true));
                s256 = l.downcallHandle(crypto.findOrThrow("EVP_sha256"), FunctionDescriptor.of(C_POINTER));
                s512 = l.downcallHandle(crypto.findOrThrow("EVP_sha512"), FunctionDescriptor.of(C_POINTER));
            } catch (IllegalArgumentException | java.util.NoSuchElementException e) {
                n = null; // no libcrypto.so.3 here: the JDK's digests are used
            }
            NEW = n;
            FREE = f;
            INIT = i;
            UPDATE = u;
            FINAL = fi;
            SHA256 = s256;
            SHA512 = s512;
        }
    }

    /** A SHA-256 computation, if libcrypto is there. */
    public static Optional<Context> sha256() {
        return Lib.NEW == null ? Optional.empty() : Optional.of(new Context(Lib.SHA256));
    }

    /** A SHA-512 computation, if libcrypto is there. */
    public static Optional<Context> sha512() {
        return Lib.NEW == null ? Optional.empty() : Optional.of(new Context(Lib.SHA512));
    }

    /**
     * One running digest. Not thread-safe. Its native context is freed when it becomes unreachable
     * (it holds no descriptor or lock, only a few hundred bytes).
     */
    public static final class Context {
        private final MemorySegment md;
        private final MemorySegment ctx;

        private Context(MethodHandle algorithm) {
            try {
                md = (MemorySegment) algorithm.invokeExact();
                ctx = (MemorySegment) Lib.NEW.invokeExact();
            } catch (Throwable t) {
                throw Native.rethrow(t);
            }
            if (ctx.address() == 0) {
                throw new OutOfMemoryError("EVP_MD_CTX_new failed");
            }
            long address = ctx.address();
            CLEANER.register(this, () -> free(address));
            init();
        }

        private static void free(long address) {
            try {
                Lib.FREE.invokeExact(MemorySegment.ofAddress(address));
            } catch (Throwable ignored) {
                // nothing sensible to do in a cleaner
            }
        }

        private void init() {
            try {
                int ok = (int) Lib.INIT.invokeExact(ctx, md, MemorySegment.NULL);
                if (ok != 1) {
                    throw new IllegalStateException("EVP_DigestInit_ex failed");
                }
            } catch (Throwable t) {
                throw Native.rethrow(t);
            }
        }

        public void update(byte[] data, int offset, int length) {
            java.util.Objects.checkFromIndexSize(offset, length, data.length);
            try {
                int ok = (int) Lib.UPDATE.invokeExact(ctx, MemorySegment.ofArray(data).asSlice(offset, length),
                        (long) length);
                if (ok != 1) {
                    throw new IllegalStateException("EVP_DigestUpdate failed");
                }
            } catch (Throwable t) {
                throw Native.rethrow(t);
            }
        }

        /** The digest of everything fed so far; the context starts over afterwards. */
        public byte[] digest() {
            byte[] out = new byte[MAX_DIGEST];
            int[] length = new int[1];
            try {
                int ok = (int) Lib.FINAL.invokeExact(ctx, MemorySegment.ofArray(out), MemorySegment.ofArray(length));
                if (ok != 1) {
                    throw new IllegalStateException("EVP_DigestFinal_ex failed");
                }
            } catch (Throwable t) {
                throw Native.rethrow(t);
            }
            init();
            return java.util.Arrays.copyOf(out, length[0]);
        }
    }
}
