package io.vessel.vmm.acpi;

/**
 * A MADT Interrupt Source Override (ACPI 6.5, section 5.2.12.5): ISA IRQ {@code source} arrives
 * on {@code gsi} with the given trigger and polarity instead of the identity mapping (edge, active
 * high) that the OS assumes for ISA IRQs 0-15. KVM's default GSI routing is the identity, so a
 * VMM only needs these when it routes differently.
 */
public record InterruptOverride(int source, int gsi, AmlResource.Trigger trigger, AmlResource.Polarity polarity) {
    public InterruptOverride {
        if (source < 0 || source > 15) {
            throw new IllegalArgumentException("interrupt source override: ISA IRQ " + source + " must be 0 to 15");
        }
        if (gsi < 0) {
            throw new IllegalArgumentException("interrupt source override for IRQ " + source + ": GSI " + gsi + " is negative");
        }
    }
}
