package io.vessel.vmm.api;

/** A request the API refuses: answered 400 with {@code fault_message} set to the message. */
public final class ApiException extends RuntimeException {
    public ApiException(String message) {
        super(message);
    }

    public ApiException(String message, Throwable cause) {
        super(message, cause);
    }
}
