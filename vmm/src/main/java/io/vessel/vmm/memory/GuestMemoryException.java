package io.vessel.vmm.memory;

/**
 * A guest asked for memory it does not have: a range outside RAM, in the MMIO hole, across two
 * regions, or one whose end overflows. Devices turn this into a device error for the guest; it
 * never means the VMM touched anything outside guest RAM.
 */
public final class GuestMemoryException extends RuntimeException {
    public GuestMemoryException(String message) {
        super(message);
    }
}
