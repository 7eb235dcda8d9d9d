package io.vessel.vmm.kvm;

/**
 * One {@code struct kvm_cpuid_entry2}: what CPUID returns for leaf {@code function}, sub-leaf
 * {@code index}. {@code flags} has {@link #FLAG_SIGNIFICANT_INDEX} when the sub-leaf matters.
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** arch/x86/include/uapi/asm/kvm.h: KVM_CPUID_FLAG_SIGNIFICANT_INDEX. */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    public CpuidEntry withEax(int v) {
        return new CpuidEntry(function, index, flags, v, ebx, ecx, edx);
    }

    public CpuidEntry withEbx(int v) {
        return new CpuidEntry(function, index, flags, eax, v, ecx, edx);
    }

    public CpuidEntry withEcx(int v) {
        return new CpuidEntry(function, index, flags, eax, ebx, v, edx);
    }

    public CpuidEntry withEdx(int v) {
        return new CpuidEntry(function, index, flags, eax, ebx, ecx, v);
    }
}
