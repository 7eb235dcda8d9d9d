package io.vessel.vmm.kvm;

/** One {@code struct kvm_msr_entry}: model-specific register {@code index} and its value. */
public record MsrEntry(int index, long data) {
}
