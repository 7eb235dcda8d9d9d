package io.vessel.vmm.acpi;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Where a virtio-mmio device sits: its register window in guest-physical memory and the GSI it
 * raises. The guest learns it from the DSDT ({@code LNRO0005} device) or, for kernels built with
 * {@code CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES}, from {@link #cmdlineFragment()}.
 *
 * @param trigger how the VMM signals the interrupt: edge for irqfd injection (the default),
 *                level for a line held with KVM_IRQ_LINE until acknowledged
 */
public record MmioDeviceInfo(long base, long size, int gsi, AmlResource.Trigger trigger) {
    public MmioDeviceInfo {
        if (size <= 0 || base < 0 || base + size > 1L << 32) {
            throw new IllegalArgumentException("virtio-mmio window 0x" + Long.toHexString(base) + " + 0x" + Long.toHexString(size)
                    + " must be non-empty and lie below 4 GiB");
        }
        if (gsi < 0) {
            throw new IllegalArgumentException("virtio-mmio device at 0x" + Long.toHexString(base) + ": GSI " + gsi + " is negative");
        }
    }

    /** An edge-triggered, active-high device: what irqfd delivers. */
    public MmioDeviceInfo(long base, long size, int gsi) {
        this(base, size, gsi, AmlResource.Trigger.EDGE);
    }

    /**
     * {@code virtio_mmio.device=<size>@<base>:<irq>}, the syntax of Linux's
     * drivers/virtio/virtio_mmio.c (size through memparse, so a K suffix is allowed).
     */
    public String cmdlineFragment() {
        String sizeText = size % 1024 == 0 ? (size / 1024) + "K" : Long.toString(size);
        return "virtio_mmio.device=" + sizeText + "@0x" + Long.toHexString(base) + ":" + gsi;
    }

    /** The fragments of all {@code devices}, space-separated, for appending to a kernel command line. */
    public static String cmdline(List<MmioDeviceInfo> devices) {
        return devices.stream().map(MmioDeviceInfo::cmdlineFragment).collect(Collectors.joining(" "));
    }

    boolean overlaps(MmioDeviceInfo other) {
        return base < other.base + other.size && other.base < base + size;
    }
}
