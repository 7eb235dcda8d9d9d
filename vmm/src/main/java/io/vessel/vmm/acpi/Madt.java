package io.vessel.vmm.acpi;

/**
 * The Multiple APIC Description Table ("APIC", ACPI 6.5, section 5.2.12): the local APIC of each
 * vCPU (APIC ID = vCPU index, matching the CPUID topology the VMM gives), KVM's in-kernel IOAPIC,
 * any interrupt source overrides, and LINT1 as NMI on every processor.
 */
final class Madt {
    static final int REVISION = 5;
    /** The local APIC's default physical address (Intel SDM vol. 3, 10.4.1). */
    static final long LOCAL_APIC_ADDRESS = 0xFEE0_0000L;
    /** KVM's in-kernel IOAPIC is at the default base (IOAPIC_DEFAULT_BASE_ADDRESS in arch/x86/kvm/ioapic.h). */
    static final long IOAPIC_ADDRESS = 0xFEC0_0000L;
    /** KVM's IOAPIC reports ID 0 in its ID register; the MADT must agree. */
    static final int IOAPIC_ID = 0;
    /** Flags bit 0, PCAT_COMPAT: dual 8259 PICs are present (KVM_CREATE_IRQCHIP makes them) and must be masked. */
    static final int PCAT_COMPAT = 1;

    // Interrupt controller structure types and lengths, ACPI 6.5 table 5.21 onwards.
    static final int TYPE_LOCAL_APIC = 0;
    static final int LENGTH_LOCAL_APIC = 8;
    static final int TYPE_IO_APIC = 1;
    static final int LENGTH_IO_APIC = 12;
    static final int TYPE_SOURCE_OVERRIDE = 2;
    static final int LENGTH_SOURCE_OVERRIDE = 10;
    static final int TYPE_LOCAL_APIC_NMI = 4;
    static final int LENGTH_LOCAL_APIC_NMI = 6;
    static final int LOCAL_APIC_ENABLED = 1;
    /** Processor UID 0xFF in a Local APIC NMI structure: all processors. */
    static final int ALL_PROCESSORS = 0xFF;
    static final int LINT1 = 1;
    /** ISA bus in an interrupt source override. */
    static final int BUS_ISA = 0;
    // MPS INTI flags: polarity bits 0-1 (01 high, 11 low), trigger bits 2-3 (01 edge, 11 level).
    static final int POLARITY_HIGH = 0b01;
    static final int POLARITY_LOW = 0b11;
    static final int TRIGGER_EDGE = 0b01 << 2;
    static final int TRIGGER_LEVEL = 0b11 << 2;

    private Madt() {
    }

    static byte[] build(Platform platform) {
        LeBytes t = SystemDescriptionTable.start("APIC", REVISION, "VSLMADT");
        t.u32(LOCAL_APIC_ADDRESS).u32(PCAT_COMPAT);
        for (int cpu = 0; cpu < platform.vcpus(); cpu++) {
            t.u8(TYPE_LOCAL_APIC).u8(LENGTH_LOCAL_APIC).u8(cpu).u8(cpu).u32(LOCAL_APIC_ENABLED);
        }
        t.u8(TYPE_IO_APIC).u8(LENGTH_IO_APIC).u8(IOAPIC_ID).u8(0).u32(IOAPIC_ADDRESS).u32(0 /* GSI base */);
        for (InterruptOverride o : platform.overrides()) {
            int flags = (o.polarity() == AmlResource.Polarity.ACTIVE_HIGH ? POLARITY_HIGH : POLARITY_LOW)
                    | (o.trigger() == AmlResource.Trigger.EDGE ? TRIGGER_EDGE : TRIGGER_LEVEL);
            t.u8(TYPE_SOURCE_OVERRIDE).u8(LENGTH_SOURCE_OVERRIDE).u8(BUS_ISA).u8(o.source()).u32(o.gsi()).u16(flags);
        }
        t.u8(TYPE_LOCAL_APIC_NMI).u8(LENGTH_LOCAL_APIC_NMI).u8(ALL_PROCESSORS).u16(0 /* bus conformant */).u8(LINT1);
        return SystemDescriptionTable.finish(t);
    }
}
