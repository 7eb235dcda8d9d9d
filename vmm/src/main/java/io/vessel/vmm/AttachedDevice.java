package io.vessel.vmm;

import io.vessel.vmm.devices.virtio.MmioTransport;

/**
 * A virtio device as the VM placed it: its register window at {@code mmioBase} (one
 * {@link MmioTransport#WINDOW_SIZE} page) and the GSI its irqfd raises.
 */
public record AttachedDevice(DeviceConfig config, long mmioBase, int gsi, MmioTransport transport) {
    /**
     * {@code virtio_mmio.device=<size>@<base>:<irq>}, the syntax drivers/virtio/virtio_mmio.c of
     * Linux parses (the size through memparse, hence the K suffix) when built with
     * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES.
     */
    public String cmdlineFragment() {
        return "virtio_mmio.device=" + (MmioTransport.WINDOW_SIZE / 1024) + "K@0x" + Long.toHexString(mmioBase) + ":" + gsi;
    }
}
