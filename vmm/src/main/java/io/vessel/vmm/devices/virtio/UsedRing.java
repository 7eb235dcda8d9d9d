package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The device area of a split virtqueue (virtio 1.2, 2.7.8): le16 flags, le16 idx, {le32 id, le32
 * len} ring[size], le16 avail_event. The device writes it; the driver reads. The whole area was
 * checked to be RAM when the queue was made ready; its host memory is kept, so that each access
 * on the hot path is one store.
 */
public final class UsedRing {
    /** used.flags: the device does not want available-buffer notifications (without EVENT_IDX). */
    public static final int F_NO_NOTIFY = 1;
    private static final int RING = 4;
    private static final int ELEMENT = 8;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment area;
    private final int size;

    UsedRing(GuestMemory memory, long base, int size) {
        this.area = memory.slice(base, bytes(size));
        this.size = size;
    }

    /** Bytes the area spans for a queue of {@code size} entries, avail_event included. */
    public static long bytes(int size) {
        return RING + (long) ELEMENT * size + 2;
    }

    void setFlags(int flags) {
        area.set(U16, 0, (short) flags);
    }

    /** Fills slot {@code position} (modulo the size); the driver sees it once {@link #publish} moves idx past it. */
    void put(int position, int id, int length) {
        long at = RING + (long) ELEMENT * (position % size);
        area.set(U64, at, Integer.toUnsignedLong(id) | (long) length << 32); // le32 id, le32 len
    }

    /** Stores idx with release ordering: the elements written before are visible first. */
    void publish(int idx) {
        VarHandle.releaseFence();
        area.set(U16, 2, (short) idx);
    }

    int idx() {
        return Short.toUnsignedInt(area.get(U16, 2));
    }

    void setAvailEvent(int idx) {
        area.set(U16, RING + (long) ELEMENT * size, (short) idx);
    }
}
