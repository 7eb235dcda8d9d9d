package io.vessel.vmm.devices.virtio;

/**
 * The layout of one entry of a split virtqueue's descriptor table (virtio 1.2, 2.7.5): le64 addr,
 * le32 len, le16 flags, le16 next. {@link DescriptorTable} reads entries; {@link DescriptorChain}
 * copies each one out of guest memory once, so that the guest cannot change it while the device
 * looks at it.
 */
public final class Descriptor {
    /** Bytes per entry. */
    public static final int SIZE = 16;
    public static final int F_NEXT = 1;
    public static final int F_WRITE = 2;
    public static final int F_INDIRECT = 4;

    private Descriptor() {
    }
}
