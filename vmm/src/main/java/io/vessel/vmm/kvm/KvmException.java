package io.vessel.vmm.kvm;

import java.io.IOException;

/**
 * KVM cannot be used as this VMM needs: no /dev/kvm, an unexpected API version, a missing
 * capability. The message says which, and what to do about it.
 */
public final class KvmException extends IOException {
    public KvmException(String message) {
        super(message);
    }

    public KvmException(String message, Throwable cause) {
        super(message, cause);
    }
}
