package io.vessel.image;

import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest, {@code algorithm:hex}, as the OCI image spec defines it (descriptor.md, "Digests").
 *
 * <p>Only the spec's registered algorithms are accepted: {@code sha256} (64 lowercase hex digits,
 * the default everywhere) and {@code sha512} (128). A well-formed digest with another algorithm is
 * refused as unsupported rather than as malformed, so that the error says what to do.
 */
public record Digest(String algorithm, String hex) {
    public static final String SHA256 = "sha256";
    public static final String SHA512 = "sha512";

    /** The spec's grammar: {@code algorithm-component ([+._-] algorithm-component)* ":" encoded}. */
    private static final Pattern GRAMMAR = Pattern.compile("[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");
    private static final Pattern LOWER_HEX = Pattern.compile("[0-9a-f]+");
    private static final HexFormat HEX = HexFormat.of();

    public Digest {
        int length = hexLength(algorithm);
        if (length < 0) {
            throw new IllegalArgumentException("unsupported algorithm \"" + algorithm + "\" (supported: "
                    + SHA256 + ", " + SHA512 + ")");
        }
        if (hex == null || hex.length() != length || !LOWER_HEX.matcher(hex).matches()) {
            throw new IllegalArgumentException("not a digest: \"" + algorithm + ":" + hex + "\" (" + algorithm
                    + " needs " + length + " lowercase hex digits)");
        }
    }

    /** Parses {@code sha256:<64 hex>} or {@code sha512:<128 hex>}. */
    public static Digest parse(String text) {
        if (text == null || !GRAMMAR.matcher(text).matches()) {
            throw new IllegalArgumentException("not a digest: " + (text == null ? "null" : "\"" + text + "\"")
                    + " (expected algorithm:hex, e.g. sha256:<64 lowercase hex digits>)");
        }
        int colon = text.indexOf(':');
        String algorithm = text.substring(0, colon);
        if (hexLength(algorithm) < 0) {
            throw new IllegalArgumentException("unsupported algorithm \"" + algorithm + "\" in digest \"" + text
                    + "\" (supported: " + SHA256 + ", " + SHA512 + ")");
        }
        return new Digest(algorithm, text.substring(colon + 1));
    }

    /** The sha256 digest of {@code data}. */
    public static Digest of(byte[] data) {
        return of(SHA256, data);
    }

    /** The digest of {@code data} with {@code algorithm}. */
    public static Digest of(String algorithm, byte[] data) {
        Digester d = Digester.of(algorithm);
        d.update(data, 0, data.length);
        return d.digest();
    }

    /** Whether {@code algorithm} is one this class accepts. */
    public static boolean supported(String algorithm) {
        return hexLength(algorithm) > 0;
    }

    /** The number of hex digits of an algorithm's digests, or -1 if it is not supported. */
    static int hexLength(String algorithm) {
        if (SHA256.equals(algorithm)) {
            return 64;
        }
        if (SHA512.equals(algorithm)) {
            return 128;
        }
        return -1;
    }

    static Digest fromBytes(String algorithm, byte[] hash) {
        return new Digest(algorithm, HEX.formatHex(hash));
    }

    @Override
    public String toString() {
        return algorithm + ":" + hex;
    }
}
