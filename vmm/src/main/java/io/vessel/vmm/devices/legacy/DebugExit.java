package io.vessel.vmm.devices.legacy;

import io.vessel.vmm.VmExit;
import io.vessel.vmm.devices.PioDevice;

import java.util.function.Consumer;

/**
 * A one-byte port in the style of QEMU's isa-debug-exit: the guest writes a status and the VM ends
 * with exactly that status ({@link VmExit.GuestExit}). Lets test guests report pass or fail
 * without a shutdown path.
 */
public final class DebugExit implements PioDevice {
    /** The port QEMU's isa-debug-exit uses by default. */
    public static final int PORT = 0x501;

    private final Consumer<VmExit> exits;

    public DebugExit(Consumer<VmExit> exits) {
        this.exits = exits;
    }

    @Override
    public void read(int offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0);
    }

    @Override
    public void write(int offset, byte[] data) {
        exits.accept(new VmExit.GuestExit(data[0] & 0xFF));
    }
}
