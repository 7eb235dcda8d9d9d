package io.vessel.vmm;

/** How a VM ended, as {@link Vm#run} reports it. */
public sealed interface VmExit {
    /** The guest powered the machine off (ACPI, or KVM's system event). */
    record PoweredOff() implements VmExit {
    }

    /** The guest reset the machine (i8042 command 0xFE, a triple fault, or KVM's system event). */
    record Reset() implements VmExit {
    }

    /** The guest wrote {@code status} to the debug exit port. */
    record GuestExit(int status) implements VmExit {
    }

    /** The VM could not go on; {@code reason} says why (e.g. a KVM internal error). */
    record Crashed(String reason) implements VmExit {
    }

    /** The VMM stopped the VM ({@link Vm#stop}). */
    record Stopped() implements VmExit {
    }
}
