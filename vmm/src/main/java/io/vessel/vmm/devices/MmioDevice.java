package io.vessel.vmm.devices;

/**
 * A device on the memory-mapped I/O bus (e.g. a virtio-mmio transport). {@code offset} is relative
 * to the device's window; {@code data}'s length is the access size. Called from vCPU threads:
 * implementations synchronise their own state.
 */
public interface MmioDevice {
    void read(long offset, byte[] data);

    void write(long offset, byte[] data);
}
