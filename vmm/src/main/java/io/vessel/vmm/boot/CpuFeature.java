package io.vessel.vmm.boot;

/**
 * CPUID feature bits a VM may hide from its guest, e.g. to keep a guest off instructions that the
 * PVM emulator cannot run ({@code lock cmpxchg16b}, {@code xrstor}). Leaf and bit from the Intel
 * SDM vol. 2A, CPUID, tables 3-10/3-11 and 3-8 (leaf 7).
 */
public enum CpuFeature {
    CX16(1, Register.ECX, 13),
    X2APIC(1, Register.ECX, 21),
    TSC_DEADLINE(1, Register.ECX, 24),
    XSAVE(1, Register.ECX, 26),
    AVX(1, Register.ECX, 28),
    RDRAND(1, Register.ECX, 30),
    AVX2(7, Register.EBX, 5),
    AVX512F(7, Register.EBX, 16);

    enum Register { EBX, ECX, EDX }

    final int leaf;
    final Register register;
    final int bit;

    CpuFeature(int leaf, Register register, int bit) {
        this.leaf = leaf;
        this.register = register;
        this.bit = bit;
    }
}
