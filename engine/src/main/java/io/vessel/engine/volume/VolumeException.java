package io.vessel.engine.volume;

/**
 * A volume operation that cannot be done. The {@link Kind} lets the daemon answer as Docker does
 * (404, 409, 400) without parsing the message; the message names the volume and the reason.
 */
public final class VolumeException extends RuntimeException {
    /** What went wrong, in the terms of Docker's API errors. */
    public enum Kind { NOT_FOUND, IN_USE, INVALID, CONFLICT, IO }

    private final Kind kind;

    public VolumeException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public VolumeException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
