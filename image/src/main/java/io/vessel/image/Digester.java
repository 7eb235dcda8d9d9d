package io.vessel.image;

import io.vessel.linux.NativeDigest;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A streaming {@link Digest} computation: feed bytes with {@link #update}, then take {@link #digest()}.
 * Not thread-safe; one per stream. Uses the system's libcrypto where there is one ({@link NativeDigest}:
 * full speed from a command's first byte), else the JDK's.
 */
public final class Digester {
    private final String algorithm;
    private final NativeDigest.Context nativeMd;
    private final MessageDigest md;
    private long size;

    private Digester(String algorithm, NativeDigest.Context nativeMd, MessageDigest md) {
        this.algorithm = algorithm;
        this.nativeMd = nativeMd;
        this.md = md;
    }

    /** A sha256 digester. */
    public static Digester sha256() {
        return of(Digest.SHA256);
    }

    /** A digester for one of the supported algorithms ({@code sha256}, {@code sha512}). */
    public static Digester of(String algorithm) {
        String jca;
        java.util.Optional<NativeDigest.Context> fast;
        if (Digest.SHA256.equals(algorithm)) {
            jca = "SHA-256";
            fast = NativeDigest.sha256();
        } else if (Digest.SHA512.equals(algorithm)) {
            jca = "SHA-512";
            fast = NativeDigest.sha512();
        } else {
            throw new IllegalArgumentException("unsupported algorithm \"" + algorithm
                    + "\" (supported: " + Digest.SHA256 + ", " + Digest.SHA512 + ")");
        }
        if (fast.isPresent()) {
            return new Digester(algorithm, fast.get(), null);
        }
        try {
            return new Digester(algorithm, null, MessageDigest.getInstance(jca));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + jca, e); // every JDK must provide both
        }
    }

    public String algorithm() {
        return algorithm;
    }

    public void update(byte[] data, int offset, int length) {
        if (nativeMd != null) {
            nativeMd.update(data, offset, length);
        } else {
            md.update(data, offset, length);
        }
        size += length;
    }

    public void update(byte[] data) {
        update(data, 0, data.length);
    }

    /** The number of bytes fed so far. */
    public long size() {
        return size;
    }

    /** The digest of everything fed so far; the digester is reset afterwards. */
    public Digest digest() {
        size = 0;
        return Digest.fromBytes(algorithm, nativeMd != null ? nativeMd.digest() : md.digest());
    }
}
