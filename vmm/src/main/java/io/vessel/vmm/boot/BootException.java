package io.vessel.vmm.boot;

import java.io.IOException;

/** A kernel, initrd or command line that cannot be booted, or guest memory too small for them; the message says which. */
public final class BootException extends IOException {
    public BootException(String message) {
        super(message);
    }

    public BootException(String message, Throwable cause) {
        super(message, cause);
    }
}
