package io.vessel.vmm.acpi;

import java.util.ArrayList;
import java.util.List;

/**
 * The Differentiated System Description Table: the AML namespace that names the machine's
 * devices. Under {@code \_SB_}: COM1 ({@code PNP0501}), the PS/2 controller ({@code PNP0303})
 * and one {@code LNRO0005} device per virtio-mmio window — the ACPI ID Linux's virtio_mmio
 * driver matches, so kernels without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES find their devices. At the
 * root, {@code \_S5_} gives the sleep type for soft-off (see {@link AcpiSleepControl}).
 */
final class Dsdt {
    /** Revision 2: integers are 64 bits wide (ACPI 6.5, section 5.2.11.1). */
    static final int REVISION = 2;
    /** _STA bits: present, enabled, shown in UI, functioning (ACPI 6.5, section 6.3.7). */
    static final int STA_PRESENT_AND_WORKING = 0x0F;
    /** The ACPI hardware ID of a virtio-mmio device (Linux: drivers/virtio/virtio_mmio.c). */
    static final String VIRTIO_MMIO_HID = "LNRO0005";
    static final String SERIAL_EISA_ID = "PNP0501";       // 16550A-compatible COM port
    static final String PS2_KEYBOARD_EISA_ID = "PNP0303"; // IBM enhanced keyboard (101/102), 8042

    private Dsdt() {
    }

    static byte[] build(Platform platform) {
        List<Aml> devices = new ArrayList<>();
        if (platform.com1()) {
            devices.add(Aml.device("COM1",
                    Aml.name("_HID", Aml.eisaId(SERIAL_EISA_ID)),
                    Aml.name("_UID", Aml.integer(1)),
                    present(),
                    Aml.name("_CRS", Aml.resources(
                            AmlResource.io(Platform.COM1_PORT, Platform.COM1_PORT, 0, Platform.COM1_PORTS),
                            AmlResource.interrupt(AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH, Platform.COM1_IRQ)))));
        }
        if (platform.i8042()) {
            devices.add(Aml.device("PS2_",
                    Aml.name("_HID", Aml.eisaId(PS2_KEYBOARD_EISA_ID)),
                    present(),
                    Aml.name("_CRS", Aml.resources(
                            AmlResource.io(Platform.I8042_DATA_PORT, Platform.I8042_DATA_PORT, 0, 1),
                            AmlResource.io(Platform.I8042_COMMAND_PORT, Platform.I8042_COMMAND_PORT, 0, 1),
                            AmlResource.interrupt(AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH,
                                    Platform.I8042_KEYBOARD_IRQ)))));
        }
        List<MmioDeviceInfo> virtio = platform.virtioDevices();
        for (int i = 0; i < virtio.size(); i++) {
            MmioDeviceInfo d = virtio.get(i);
            devices.add(Aml.device(String.format("V%03X", i),
                    Aml.name("_HID", Aml.string(VIRTIO_MMIO_HID)),
                    Aml.name("_UID", Aml.integer(i)),
                    present(),
                    Aml.name("_CRS", Aml.resources(
                            AmlResource.memory32Fixed(d.base(), d.size()),
                            AmlResource.interrupt(d.trigger(), AmlResource.Polarity.ACTIVE_HIGH, d.gsi())))));
        }
        LeBytes t = SystemDescriptionTable.start("DSDT", REVISION, "VSLDSDT");
        Aml.scope("\\_SB_", devices.toArray(Aml[]::new)).encode(t);
        Aml.name("\\_S5_", Aml.pkg(Aml.integer(AcpiSleepControl.S5_SLEEP_TYPE), Aml.integer(AcpiSleepControl.S5_SLEEP_TYPE),
                Aml.integer(0), Aml.integer(0))).encode(t);
        return SystemDescriptionTable.finish(t);
    }

    /** {@code Method(_STA) { Return (0x0F) }}. */
    private static Aml present() {
        return Aml.method("_STA", 0, Aml.ret(Aml.integer(STA_PRESENT_AND_WORKING)));
    }
}
