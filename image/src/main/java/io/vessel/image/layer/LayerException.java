package io.vessel.image.layer;

import java.io.IOException;

/**
 * A layer archive that cannot be read or applied: malformed tar, an unsupported compression, or an
 * entry refused for safety. The message names the entry and its byte offset in the uncompressed tar,
 * e.g. {@code layer tar: entry 7 (usr/bin/x) at offset 5120: bad header checksum}.
 */
public class LayerException extends IOException {
    public LayerException(String message) {
        super(message);
    }

    public LayerException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The message for entry number {@code index} (1-based) named {@code name} whose header is at {@code offset}. */
    static String at(long index, String name, long offset, String problem) {
        return "layer tar: entry " + index + " (" + (name == null || name.isEmpty() ? "?" : name) + ") at offset "
                + offset + ": " + problem;
    }
}
