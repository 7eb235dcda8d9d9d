package io.vessel.vmm.devices;

/**
 * A device behind a window of the guest's MMIO space (e.g. a virtio-mmio transport). The bus calls it
 * with the offset inside the window and a buffer whose length is the access width; it must answer
 * every access, however odd, without throwing: a guest chooses the offsets and the values. Called
 * from vCPU threads: implementations synchronise their own state.
 */
public interface MmioDevice {
    /** Fills {@code data} with what the guest reads at {@code offset}. */
    void read(long offset, byte[] data);

    /** Takes what the guest writes at {@code offset}. */
    void write(long offset, byte[] data);
}
