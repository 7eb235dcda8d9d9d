package io.vessel.runtime.container;

/** An operation was refused or failed; the message is what the user sees after "vessel-runtime: ". */
public class RuntimeError extends Exception {
    public RuntimeError(String message) {
        super(message);
    }

    public RuntimeError(String message, Throwable cause) {
        super(message, cause);
    }
}
