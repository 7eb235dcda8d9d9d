package io.vessel.vmm.acpi;

/**
 * The Fixed ACPI Description Table ("FACP", ACPI 6.5, section 5.2.9) of a hardware-reduced
 * machine: no SCI, no PM1/PM2/PM-timer/GPE blocks, no FACS. It points at the DSDT (64-bit
 * X_DSDT only) and at the sleep control and status registers through which Linux powers off
 * (see {@link AcpiSleepControl}); reset goes through the i8042 (Linux falls back to it when the
 * FADT offers no reset register).
 */
final class Fadt {
    /** Revision 6 and minor version 5: the ACPI 6.5 layout, 276 bytes with the hypervisor vendor ID. */
    static final int REVISION = 6;
    static final int MINOR_VERSION = 5;
    static final int LENGTH = 276;

    // Field offsets, ACPI 6.5 table 5.9.
    static final int IAPC_BOOT_ARCH_OFFSET = 109;
    static final int FLAGS_OFFSET = 112;
    static final int MINOR_VERSION_OFFSET = 131;
    static final int X_DSDT_OFFSET = 140;
    static final int SLEEP_CONTROL_OFFSET = 244;
    static final int SLEEP_STATUS_OFFSET = 256;
    static final int HYPERVISOR_ID_OFFSET = 268;

    // IA-PC boot architecture flags, ACPI 6.5 table 5.11.
    static final int BOOT_8042 = 1 << 1;
    static final int BOOT_VGA_NOT_PRESENT = 1 << 2;
    static final int BOOT_MSI_NOT_SUPPORTED = 1 << 3;
    static final int BOOT_PCIE_ASPM_CONTROLS = 1 << 4;
    static final int BOOT_CMOS_RTC_NOT_PRESENT = 1 << 5;

    // Fixed feature flags, ACPI 6.5 table 5.10.
    /** Power button is a control method device (there is no fixed-hardware one). */
    static final int PWR_BUTTON = 1 << 4;
    static final int SLP_BUTTON = 1 << 5;
    static final int HW_REDUCED_ACPI = 1 << 20;

    /** Identifies the VMM to the guest (the hypervisor vendor identity field). */
    static final String HYPERVISOR_VENDOR = "VESSELVM";

    private Fadt() {
    }

    static byte[] build(long dsdtAddress, Platform platform) {
        LeBytes t = SystemDescriptionTable.start("FACP", REVISION, "VSLFADT");
        t.zeros(IAPC_BOOT_ARCH_OFFSET - t.size()); // FACS, DSDT (32-bit), SCI, SMI and all legacy PM blocks: none
        // No VGA, no MSI (no PCI at all), no CMOS RTC: the VMM emulates none of them.
        int boot = BOOT_VGA_NOT_PRESENT | BOOT_MSI_NOT_SUPPORTED | BOOT_PCIE_ASPM_CONTROLS | BOOT_CMOS_RTC_NOT_PRESENT
                | (platform.i8042() ? BOOT_8042 : 0);
        t.u16(boot).u8(0);
        t.u32(HW_REDUCED_ACPI | PWR_BUTTON | SLP_BUTTON);
        GenericAddress.NONE.encode(t); // RESET_REG
        t.u8(0);                        // RESET_VALUE
        t.u16(0);                       // ARM_BOOT_ARCH
        t.u8(MINOR_VERSION);
        t.u64(0);                       // X_FIRMWARE_CTRL
        t.u64(dsdtAddress);             // X_DSDT
        for (int i = 0; i < 8; i++) {   // X_PM1a_EVT_BLK .. X_GPE1_BLK
            GenericAddress.NONE.encode(t);
        }
        GenericAddress.ioByte(AcpiSleepControl.PORT).encode(t); // SLEEP_CONTROL_REG
        GenericAddress.ioByte(AcpiSleepControl.PORT).encode(t); // SLEEP_STATUS_REG
        t.ascii(HYPERVISOR_VENDOR, 8);
        if (t.size() != LENGTH) {
            throw new IllegalStateException("FADT is " + t.size() + " bytes, the 6.5 layout has " + LENGTH);
        }
        return SystemDescriptionTable.finish(t);
    }
}
