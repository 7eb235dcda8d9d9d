package io.vessel.vmm.devices.virtio;

/**
 * The driver broke the virtio protocol (a ring or descriptor value no correct driver writes): the
 * device stops and sets DEVICE_NEEDS_RESET. The message names the value and why it is wrong.
 */
public final class VirtioException extends Exception {
    public VirtioException(String message) {
        super(message);
    }
}
