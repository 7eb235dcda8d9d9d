package io.vessel.vmm.devices.legacy;

import io.vessel.vmm.VmExit;
import io.vessel.vmm.acpi.AcpiSleepControl;
import io.vessel.vmm.devices.PioDevice;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The hardware-reduced ACPI sleep control/status register the FADT announces at
 * {@link AcpiSleepControl#PORT}: a write asking for S5 (soft-off) ends the VM with
 * {@link VmExit.PoweredOff}. Other writes (WAK_STS clears, other sleep states) are accepted and
 * ignored, as a machine without sleep support would; reads return 0, no wake event pending.
 */
public final class AcpiPowerOff implements PioDevice {
    private final Consumer<VmExit> exits;

    public AcpiPowerOff(Consumer<VmExit> exits) {
        this.exits = exits;
    }

    @Override
    public void read(int offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
    }

    @Override
    public void write(int offset, byte[] data) {
        if (offset == 0 && AcpiSleepControl.isPowerOff(data[0] & 0xFF)) {
            exits.accept(new VmExit.PoweredOff());
        }
    }

    @Override
    public String toString() {
        return "ACPI sleep control";
    }
}
