package io.vessel.vmm.devices.legacy;

import io.vessel.vmm.devices.PioDevice;

/**
 * Measures boot: the guest writes any value to {@link #PORT} when it is up (a test guest at its
 * first instruction, an init at its start); the first write's time is kept, in nanoseconds on
 * {@link System#nanoTime}'s clock, to be compared with the VMM's launch time.
 */
public final class BootTimer implements PioDevice {
    /** A port no PC device uses (0x440-0x44f is unassigned in the ISA map). */
    public static final int PORT = 0x440;

    private volatile long firstWriteNanos;

    @Override
    public void read(int offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0);
    }

    @Override
    public void write(int offset, byte[] data) {
        if (firstWriteNanos == 0) {
            synchronized (this) {
                if (firstWriteNanos == 0) {
                    firstWriteNanos = System.nanoTime();
                }
            }
        }
    }

    /** When the guest first wrote, on System.nanoTime's clock; 0 if it has not. */
    public long firstWriteNanos() {
        return firstWriteNanos;
    }
}
