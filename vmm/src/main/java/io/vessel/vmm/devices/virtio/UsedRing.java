package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The device area of a split virtqueue (virtio 1.2, 2.7.8): le16 flags, le16 idx, {le32 id, le32
 * len} ring[size], le16 avail_event. The device writes it; the driver reads. The whole area was
 * checked to be RAM when the queue was made ready; its host memory is kept as a little-endian
 * buffer, so that each access on the hot path is one store.
 */
public final class UsedRing {
    /** used.flags: the device does not want available-buffer notifications (without EVENT_IDX). */
    public static final int F_NO_NOTIFY = 1;
    private static final int RING = 4;
    private static final int ELEMENT = 8;

    private final ByteBuffer area;
    private final int size;

    UsedRing(GuestMemory memory, long base, int size) {
        this.area = memory.slice(base, bytes(size)).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        this.size = size;
    }

    /** Bytes the area spans for a queue of {@code size} entries, avail_event included. */
    public static long bytes(int size) {
        return RING + (long) ELEMENT * size + 2;
    }

    void setFlags(int flags) {
        area.putShort(0, (short) flags);
    }

    /** Fills slot {@code position} (modulo the size); the driver sees it once {@link #publish} moves idx past it. */
    void put(int position, int id, int length) {
        area.putLong(RING + ELEMENT * (position % size), Integer.toUnsignedLong(id) | (long) length << 32); // le32 id, le32 len
    }

    /** Stores idx with release ordering: the elements written before are visible first. */
    void publish(int idx) {
        VarHandle.releaseFence();
        area.putShort(2, (short) idx);
    }

    int idx() {
        return Short.toUnsignedInt(area.getShort(2));
    }

    void setAvailEvent(int idx) {
        area.putShort(RING + ELEMENT * size, (short) idx);
    }
}
