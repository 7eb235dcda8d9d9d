package io.vessel.vmm.acpi;

/**
 * The hardware-reduced ACPI sleep registers this VMM announces in the FADT (ACPI 6.5, section
 * 4.8.3.7): one byte at I/O port {@link #PORT} serves as both the sleep control and the sleep
 * status register. To power off, Linux's ACPICA (acpi_hw_extended_sleep) evaluates {@code \_S5_}
 * for the sleep type, writes WAK_STS to the status register, then writes
 * {@code SLP_TYP << 2 | SLP_EN} to the control register. The VMM's device on this port ends the
 * VM when {@link #isPowerOff} says so; reads return 0 (no wake status).
 *
 * <p>The port is Cloud Hypervisor's choice for its ACPI shutdown device: free on a machine
 * without VGA (the FADT says so), and away from COM1, the i8042 and the debug-exit port 0x501.
 */
public final class AcpiSleepControl {
    public static final int PORT = 0x3C0;
    /** Sleep Control Register bits: SLP_TYP in bits 2-4, SLP_EN in bit 5 (ACPI 6.5, table 4.19). */
    public static final int SLEEP_TYPE_SHIFT = 2;
    public static final int SLEEP_TYPE_MASK = 0x7;
    public static final int SLEEP_ENABLE = 1 << 5;
    /** Sleep Status Register bit 7, WAK_STS (ACPI 6.5, table 4.20). */
    public static final int WAKE_STATUS = 1 << 7;
    /** The SLP_TYP value the DSDT's {@code \_S5_} package gives for soft-off. */
    public static final int S5_SLEEP_TYPE = 5;

    private AcpiSleepControl() {
    }

    /** Whether a byte written to {@link #PORT} asks for soft-off (S5). */
    public static boolean isPowerOff(int value) {
        return (value & SLEEP_ENABLE) != 0 && ((value >>> SLEEP_TYPE_SHIFT) & SLEEP_TYPE_MASK) == S5_SLEEP_TYPE;
    }

    /** The byte the guest writes to power off: {@code 5 << 2 | SLP_EN} = 0x34. */
    public static int powerOffValue() {
        return (S5_SLEEP_TYPE << SLEEP_TYPE_SHIFT) | SLEEP_ENABLE;
    }
}
