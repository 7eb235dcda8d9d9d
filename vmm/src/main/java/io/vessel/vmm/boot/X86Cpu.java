package io.vessel.vmm.boot;

import io.vessel.linux.ErrnoException;
import io.vessel.vmm.kvm.CpuidEntry;
import io.vessel.vmm.kvm.Fpu;
import io.vessel.vmm.kvm.MsrEntry;
import io.vessel.vmm.kvm.Regs;
import io.vessel.vmm.kvm.Segment;
import io.vessel.vmm.kvm.Sregs;
import io.vessel.vmm.kvm.VcpuFd;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The architectural state of x86-64 vCPUs at boot: CPUID (from KVM_GET_SUPPORTED_CPUID, with the
 * APIC ID and topology of each vCPU and any hidden features), MSRs, the LAPIC's LINT pins, and for
 * the boot vCPU the registers and segments of its entry mode.
 */
public final class X86Cpu {
    // GDT descriptors (Intel SDM vol. 3, 3.4.5): access byte + flags nibble, base 0, limit 4 GiB
    private static final long CODE32 = descriptor(0xC09B, 0, 0xFFFFF);
    private static final long CODE64 = descriptor(0xA09B, 0, 0xFFFFF);
    private static final long DATA = descriptor(0xC093, 0, 0xFFFFF);
    private static final long TSS32 = descriptor(0x008B, 0, 0x67);
    private static final long TSS64 = descriptor(0x808B, 0, 0xFFFFF);
    /** GDT selectors: index * 8. */
    public static final int CODE_SELECTOR = 0x08, DATA_SELECTOR = 0x10, TSS_SELECTOR = 0x18;
    // control register bits (Intel SDM vol. 3, 2.5; EFER 2.2.1)
    private static final long CR0_PE = 1, CR0_ET = 0x10, CR0_PG = 0x8000_0000L, CR4_PAE = 0x20;
    private static final long EFER_LME = 0x100, EFER_LMA = 0x400;
    // MSRs (Intel SDM vol. 4)
    private static final int MSR_IA32_TSC = 0x10, MSR_IA32_SYSENTER_CS = 0x174, MSR_IA32_SYSENTER_ESP = 0x175,
            MSR_IA32_SYSENTER_EIP = 0x176, MSR_IA32_MISC_ENABLE = 0x1A0, MSR_MTRR_DEF_TYPE = 0x2FF,
            MSR_STAR = 0xC000_0081, MSR_LSTAR = 0xC000_0082, MSR_CSTAR = 0xC000_0083, MSR_SYSCALL_MASK = 0xC000_0084,
            MSR_KERNEL_GS_BASE = 0xC000_0102;
    private static final long MISC_ENABLE_FAST_STRING = 1, MTRR_ENABLE = 1 << 11, MTRR_TYPE_WRBACK = 6;
    // LAPIC registers in the KVM_GET_LAPIC page (Intel SDM vol. 3, table 11-1) and delivery modes
    private static final int APIC_LVT_LINT0 = 0x350, APIC_LVT_LINT1 = 0x360;
    private static final int APIC_MODE_NMI = 4, APIC_MODE_EXTINT = 7, APIC_DELIVERY_MODE_MASK = 0x700;
    // CPUID leaves and fields (Intel SDM vol. 2A, CPUID)
    private static final int LEAF_FEATURES = 1, LEAF_CACHE = 4, LEAF_EXTENDED_FEATURES = 7, LEAF_TOPOLOGY = 0xB,
            LEAF_TOPOLOGY_V2 = 0x1F;
    private static final int ECX_HYPERVISOR = 1 << 31, EDX_HTT = 1 << 28;
    private static final int TOPOLOGY_LEVEL_SMT = 1, TOPOLOGY_LEVEL_CORE = 2;

    private X86Cpu() {
    }

    /** The boot GDT for {@code mode}: null, code (32- or 64-bit), data, TSS. */
    static long[] gdt(EntryMode mode) {
        return mode == EntryMode.PVH ? new long[] {0, CODE32, DATA, TSS32} : new long[] {0, CODE64, DATA, TSS64};
    }

    /** A GDT entry from access/flags ({@code 0xF0FF} mask: flags nibble and access byte), base and 20-bit limit. */
    static long descriptor(int flags, long base, long limit) {
        return ((base & 0xFF00_0000L) << 32) | (((long) flags & 0xF0FF) << 40) | ((limit & 0xF_0000L) << 32)
                | ((base & 0xFF_FFFFL) << 16) | (limit & 0xFFFF);
    }

    /**
     * CPUID for vCPU {@code index} of {@code count}: the host's supported leaves with this vCPU's
     * APIC ID, one thread per core and {@code count} cores in one package, the hypervisor bit, and
     * {@code hidden} features cleared.
     */
    public static List<CpuidEntry> cpuid(List<CpuidEntry> supported, int index, int count, Set<CpuFeature> hidden) {
        int coreBits = 32 - Integer.numberOfLeadingZeros(Math.max(count - 1, 0));
        List<CpuidEntry> out = new ArrayList<>(supported.size());
        int maxBasicLeaf = 0;
        boolean v2 = false;
        for (CpuidEntry e : supported) {
            if (e.function() == 0) {
                maxBasicLeaf = e.eax();
            }
            v2 |= e.function() == LEAF_TOPOLOGY_V2;
        }
        for (CpuidEntry e : supported) {
            if (e.function() == LEAF_TOPOLOGY || e.function() == LEAF_TOPOLOGY_V2) {
                continue; // KVM reports only what the host has (here: subleaf 0, all zero); rebuilt below
            }
            CpuidEntry c = switch (e.function()) {
                case LEAF_FEATURES -> {
                    int ebx = (e.ebx() & 0x0000_FFFF) | (index << 24) | (count << 16);
                    int edx = count > 1 ? e.edx() | EDX_HTT : e.edx() & ~EDX_HTT;
                    yield e.withEbx(ebx).withEcx(e.ecx() | ECX_HYPERVISOR).withEdx(edx);
                }
                case LEAF_CACHE -> e.withEax((e.eax() & 0x03FF_FFFF) | ((count - 1) << 26) & 0xFC00_0000);
                default -> e;
            };
            out.add(hide(c, hidden));
        }
        if (Integer.compareUnsigned(maxBasicLeaf, LEAF_TOPOLOGY) >= 0) {
            out.addAll(topology(LEAF_TOPOLOGY, index, count, coreBits));
        }
        if (v2) {
            out.addAll(topology(LEAF_TOPOLOGY_V2, index, count, coreBits));
        }
        return out;
    }

    /**
     * The extended topology leaf (0xB, or 0x1F) of vCPU {@code index}: subleaf 0 the SMT level (one
     * thread per core, shift 0), subleaf 1 the core level ({@code count} cores, shift {@code coreBits}),
     * subleaf 2 the invalid level that ends the enumeration; EDX the x2APIC ID in each (Intel SDM
     * vol. 2A, CPUID leaf 0BH).
     */
    private static List<CpuidEntry> topology(int leaf, int index, int count, int coreBits) {
        int flags = CpuidEntry.FLAG_SIGNIFICANT_INDEX;
        return List.of(
                new CpuidEntry(leaf, 0, flags, 0, 1, TOPOLOGY_LEVEL_SMT << 8, index),
                new CpuidEntry(leaf, 1, flags, coreBits, count, 1 | TOPOLOGY_LEVEL_CORE << 8, index),
                new CpuidEntry(leaf, 2, flags, 0, 0, 2, index));
    }

    private static CpuidEntry hide(CpuidEntry e, Set<CpuFeature> hidden) {
        for (CpuFeature f : hidden) {
            if (f.leaf != e.function() || (f.leaf == LEAF_EXTENDED_FEATURES && e.index() != 0)) {
                continue;
            }
            int mask = ~(1 << f.bit);
            e = switch (f.register) {
                case EBX -> e.withEbx(e.ebx() & mask);
                case ECX -> e.withEcx(e.ecx() & mask);
                case EDX -> e.withEdx(e.edx() & mask);
            };
        }
        return e;
    }

    /** State every vCPU needs before its first run: CPUID, boot MSRs, FPU, LINT0 ExtINT and LINT1 NMI. */
    public static void configure(VcpuFd vcpu, List<CpuidEntry> cpuid) throws ErrnoException {
        vcpu.setCpuid(cpuid);
        vcpu.setMsrs(List.of(
                new MsrEntry(MSR_IA32_SYSENTER_CS, 0), new MsrEntry(MSR_IA32_SYSENTER_ESP, 0),
                new MsrEntry(MSR_IA32_SYSENTER_EIP, 0), new MsrEntry(MSR_STAR, 0), new MsrEntry(MSR_CSTAR, 0),
                new MsrEntry(MSR_KERNEL_GS_BASE, 0), new MsrEntry(MSR_SYSCALL_MASK, 0), new MsrEntry(MSR_LSTAR, 0),
                new MsrEntry(MSR_IA32_TSC, 0), new MsrEntry(MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
                new MsrEntry(MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK)));
        vcpu.setFpu(Fpu.INITIAL);
        byte[] lapic = vcpu.lapic();
        setDeliveryMode(lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
        setDeliveryMode(lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
        vcpu.setLapic(lapic);
    }

    private static void setDeliveryMode(byte[] lapic, int register, int mode) {
        int v = (lapic[register] & 0xFF) | (lapic[register + 1] & 0xFF) << 8 | (lapic[register + 2] & 0xFF) << 16
                | (lapic[register + 3] & 0xFF) << 24;
        v = (v & ~APIC_DELIVERY_MODE_MASK) | (mode << 8);
        for (int i = 0; i < 4; i++) {
            lapic[register + i] = (byte) (v >>> (8 * i));
        }
    }

    /** Registers and segments of the boot vCPU for {@code plan}'s entry mode. */
    public static void configureBoot(VcpuFd vcpu, BootPlan plan) throws ErrnoException {
        long[] gdt = gdt(plan.mode());
        Segment code = Segment.fromDescriptor(CODE_SELECTOR, gdt[1]);
        Segment data = Segment.fromDescriptor(DATA_SELECTOR, gdt[2]);
        Segment tss = Segment.fromDescriptor(TSS_SELECTOR, gdt[3]);
        Sregs sregs = vcpu.sregs().withSegments(code, data, tss)
                .withTables(Layout.GDT, gdt.length * 8 - 1, Layout.IDT, 7);
        Regs regs = Regs.initial().withRip(plan.entry());
        if (plan.mode() == EntryMode.PVH) {
            sregs = sregs.withControl(CR0_PE | CR0_ET, 0, 0, 0);
            regs = regs.withRbx(plan.bootInfo());
        } else {
            sregs = sregs.withControl(CR0_PE | CR0_ET | CR0_PG, Layout.PML4, CR4_PAE, EFER_LME | EFER_LMA);
            regs = regs.withRsi(plan.bootInfo()).withRsp(Layout.BOOT_STACK_POINTER);
        }
        vcpu.setSregs(sregs);
        vcpu.setRegs(regs);
    }
}
