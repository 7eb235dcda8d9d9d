package io.vessel.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A streaming {@link Digest} computation: feed bytes with {@link #update}, then take {@link #digest()}.
 * Not thread-safe; one per stream.
 */
public final class Digester {
    private final String algorithm;
    private final MessageDigest md;
    private long size;

    private Digester(String algorithm, MessageDigest md) {
        this.algorithm = algorithm;
        this.md = md;
    }

    /** A sha256 digester. */
    public static Digester sha256() {
        return of(Digest.SHA256);
    }

    /** A digester for one of the supported algorithms ({@code sha256}, {@code sha512}). */
    public static Digester of(String algorithm) {
        String jca;
        if (Digest.SHA256.equals(algorithm)) {
            jca = "SHA-256";
        } else if (Digest.SHA512.equals(algorithm)) {
            jca = "SHA-512";
        } else {
            throw new IllegalArgumentException("unsupported algorithm \"" + algorithm
                    + "\" (supported: " + Digest.SHA256 + ", " + Digest.SHA512 + ")");
        }
        try {
            return new Digester(algorithm, MessageDigest.getInstance(jca));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + jca, e); // every JDK must provide both
        }
    }

    public String algorithm() {
        return algorithm;
    }

    public void update(byte[] data, int offset, int length) {
        md.update(data, offset, length);
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
        return Digest.fromBytes(algorithm, md.digest());
    }
}
