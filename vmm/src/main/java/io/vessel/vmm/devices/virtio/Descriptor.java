package io.vessel.vmm.devices.virtio;

/**
 * One entry of a split virtqueue's descriptor table (virtio 1.2, 2.7.5), copied out of guest
 * memory so that the guest cannot change it while the device looks at it.
 */
public record Descriptor(long address, int length, int flags, int next) {
    /** Bytes per entry: le64 addr, le32 len, le16 flags, le16 next. */
    public static final int SIZE = 16;
    public static final int F_NEXT = 1;
    public static final int F_WRITE = 2;
    public static final int F_INDIRECT = 4;

    public boolean hasNext() {
        return (flags & F_NEXT) != 0;
    }

    public boolean isWriteOnly() {
        return (flags & F_WRITE) != 0;
    }

    public boolean isIndirect() {
        return (flags & F_INDIRECT) != 0;
    }

    /** The length as the unsigned 32-bit value the guest wrote. */
    public long byteLength() {
        return Integer.toUnsignedLong(length);
    }
}
