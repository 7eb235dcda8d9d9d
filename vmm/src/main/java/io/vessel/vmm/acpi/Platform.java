package io.vessel.vmm.acpi;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The machine the ACPI tables describe: how many vCPUs, which legacy devices, which virtio-mmio
 * devices, and any ISA interrupt overrides. Checked on construction, so tables built from it are
 * consistent (no two devices on one window or one GSI, every GSI on an IOAPIC pin).
 *
 * @param com1  an 8250 UART at I/O port 0x3F8, IRQ 4
 * @param i8042 a PS/2 controller at ports 0x60 and 0x64, IRQ 1: lets Linux's i8042 driver bind,
 *              which a Ctrl-Alt-Del sent as scancodes needs
 */
public record Platform(int vcpus, boolean com1, boolean i8042, List<MmioDeviceInfo> virtioDevices,
                       List<InterruptOverride> overrides) {
    /** APIC IDs in MADT type-0 entries are 8-bit and 0xFF means "all processors": at most 255 vCPUs, IDs 0-254. */
    public static final int MAX_VCPUS = 255;
    /** KVM's in-kernel IOAPIC has 24 pins (KVM_IOAPIC_NUM_PINS in arch/x86/kvm/ioapic.h), GSIs 0-23. */
    public static final int IOAPIC_PINS = 24;
    public static final int COM1_PORT = 0x3F8;
    public static final int COM1_PORTS = 8;
    public static final int COM1_IRQ = 4;
    public static final int I8042_DATA_PORT = 0x60;
    public static final int I8042_COMMAND_PORT = 0x64;
    public static final int I8042_KEYBOARD_IRQ = 1;
    /** Each virtio-mmio device is named V + three hex digits in the DSDT. */
    public static final int MAX_VIRTIO_DEVICES = 0x1000;

    public Platform {
        virtioDevices = List.copyOf(virtioDevices);
        overrides = List.copyOf(overrides);
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("ACPI tables: " + vcpus + " vCPUs, the MADT describes 1 to " + MAX_VCPUS);
        }
        if (virtioDevices.size() > MAX_VIRTIO_DEVICES) {
            throw new IllegalArgumentException("ACPI tables: " + virtioDevices.size() + " virtio-mmio devices, at most "
                    + MAX_VIRTIO_DEVICES);
        }
        Set<Integer> used = new HashSet<>();
        if (com1) {
            used.add(COM1_IRQ);
        }
        if (i8042) {
            used.add(I8042_KEYBOARD_IRQ);
        }
        List<MmioDeviceInfo> seen = new ArrayList<>();
        for (MmioDeviceInfo d : virtioDevices) {
            if (d.gsi() >= IOAPIC_PINS) {
                throw new IllegalArgumentException("virtio-mmio device at 0x" + Long.toHexString(d.base()) + ": GSI " + d.gsi()
                        + " is beyond the IOAPIC's " + IOAPIC_PINS + " pins");
            }
            if (!used.add(d.gsi())) {
                throw new IllegalArgumentException("virtio-mmio device at 0x" + Long.toHexString(d.base()) + ": GSI " + d.gsi()
                        + " is already used by another device");
            }
            for (MmioDeviceInfo s : seen) {
                if (d.overlaps(s)) {
                    throw new IllegalArgumentException("virtio-mmio windows at 0x" + Long.toHexString(s.base()) + " and 0x"
                            + Long.toHexString(d.base()) + " overlap");
                }
            }
            seen.add(d);
        }
        Set<Integer> sources = new HashSet<>();
        for (InterruptOverride o : overrides) {
            if (!sources.add(o.source())) {
                throw new IllegalArgumentException("two interrupt source overrides for ISA IRQ " + o.source());
            }
            if (o.gsi() >= IOAPIC_PINS) {
                throw new IllegalArgumentException("interrupt source override for IRQ " + o.source() + ": GSI " + o.gsi()
                        + " is beyond the IOAPIC's " + IOAPIC_PINS + " pins");
            }
        }
    }

    /** {@code vcpus} vCPUs, COM1, the i8042 and {@code devices}, with KVM's identity ISA routing. */
    public static Platform standard(int vcpus, List<MmioDeviceInfo> devices) {
        return new Platform(vcpus, true, true, devices, List.of());
    }
}
