package io.vessel.vmm.devices;

/** An interrupt line a device raises: an edge on a GSI of the in-kernel irqchip. */
@FunctionalInterface
public interface IrqLine {
    void trigger();
}
