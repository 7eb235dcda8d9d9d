package io.vessel.engine.network;

import java.io.IOException;

/**
 * A network operation refused: {@link Kind} tells an API what status to answer (404, 409, 400),
 * the message what is wrong, naming the network, container or address.
 */
public final class NetworkException extends IOException {
    /** Why it was refused. */
    public enum Kind { NOT_FOUND, CONFLICT, INVALID }

    private final Kind kind;

    public NetworkException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
