package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The driver area of a split virtqueue (virtio 1.2, 2.7.6): le16 flags, le16 idx, le16
 * ring[size], le16 used_event. The driver writes it; the device only reads. The whole area was
 * checked to be RAM when the queue was made ready; its host memory is kept as a little-endian
 * buffer, so that each access on the hot path is one load (a buffer's absolute get is several
 * times cheaper than a memory segment's in the VMM's interpreted JVM).
 */
public final class AvailableRing {
    /** avail.flags: the driver does not want used-buffer notifications (without EVENT_IDX). */
    public static final int F_NO_INTERRUPT = 1;
    private static final int RING = 4;

    private final ByteBuffer area;
    private final int size;

    AvailableRing(GuestMemory memory, long base, int size) {
        this.area = memory.slice(base, bytes(size)).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        this.size = size;
    }

    private int u16(int offset) {
        return Short.toUnsignedInt(area.getShort(offset));
    }

    /** Bytes the area spans for a queue of {@code size} entries, used_event included. */
    public static long bytes(int size) {
        return RING + 2L * size + 2;
    }

    public int flags() {
        return u16(0);
    }

    /** The driver's next free slot; read with acquire ordering, so the entries before it are visible. */
    public int idx() {
        int idx = u16(2);
        VarHandle.acquireFence();
        return idx;
    }

    /** The descriptor head in slot {@code position} (taken modulo the queue size). */
    public int ring(int position) {
        return u16(RING + 2 * (position % size));
    }

    public int usedEvent() {
        return u16(RING + 2 * size);
    }
}
