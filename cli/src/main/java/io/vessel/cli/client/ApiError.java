package io.vessel.cli.client;

import java.io.IOException;

/**
 * The daemon answered with an error: an HTTP status of 400 or more and Docker's
 * {@code {"message": "..."}}, or an {@code errorDetail} at the end of a JSON message stream (status
 * 200 then). Commands print it as docker does, "Error response from daemon: ...".
 */
public final class ApiError extends IOException {
    private final int status;

    public ApiError(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The HTTP status; 200 for an error reported inside a stream that had begun. */
    public int status() {
        return status;
    }

    public boolean notFound() {
        return status == 404;
    }
}
