package io.vessel.vmm.devices.virtio;

/**
 * The line a virtio device raises towards the guest. The VMM wires it to an irqfd or
 * {@code KVM_IRQ_LINE}; the transport has already recorded why in its InterruptStatus register.
 */
@FunctionalInterface
public interface Interrupt {
    void trigger();
}
