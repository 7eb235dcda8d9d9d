package io.vessel.engine.api.http;

/**
 * A request that cannot be served, with the HTTP status to answer. The server turns it into Docker's
 * error body, {@code {"message": "..."}}, so handlers only say what is wrong and how badly.
 */
public final class ApiException extends RuntimeException {
    private final int status;

    public ApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    public ApiException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public int status() {
        return status;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(Status.BAD_REQUEST, message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(Status.NOT_FOUND, message);
    }

    public static ApiException conflict(String message) {
        return new ApiException(Status.CONFLICT, message);
    }
}
