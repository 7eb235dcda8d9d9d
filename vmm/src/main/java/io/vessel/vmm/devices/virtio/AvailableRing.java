package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The driver area of a split virtqueue (virtio 1.2, 2.7.6): le16 flags, le16 idx, le16
 * ring[size], le16 used_event. The driver writes it; the device only reads. The whole area was
 * checked to be RAM when the queue was made ready; its host memory is kept, so that each access
 * on the hot path is one load.
 */
public final class AvailableRing {
    /** avail.flags: the driver does not want used-buffer notifications (without EVENT_IDX). */
    public static final int F_NO_INTERRUPT = 1;
    private static final int RING = 4;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment area;
    private final int size;

    AvailableRing(GuestMemory memory, long base, int size) {
        this.area = memory.slice(base, bytes(size));
        this.size = size;
    }

    private int u16(long offset) {
        return Short.toUnsignedInt(area.get(U16, offset));
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
        return u16(RING + 2L * (position % size));
    }

    public int usedEvent() {
        return u16(RING + 2L * size);
    }
}
