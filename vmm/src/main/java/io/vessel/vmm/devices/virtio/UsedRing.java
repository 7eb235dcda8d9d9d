package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.lang.invoke.VarHandle;

/**
 * The device area of a split virtqueue (virtio 1.2, 2.7.8): le16 flags, le16 idx, {le32 id, le32
 * len} ring[size], le16 avail_event. The device writes it; the driver reads.
 */
public final class UsedRing {
    /** used.flags: the device does not want available-buffer notifications (without EVENT_IDX). */
    public static final int F_NO_NOTIFY = 1;
    private static final int RING = 4;
    private static final int ELEMENT = 8;

    private final GuestMemory memory;
    private final long base;
    private final int size;

    UsedRing(GuestMemory memory, long base, int size) {
        this.memory = memory;
        this.base = base;
        this.size = size;
    }

    /** Bytes the area spans for a queue of {@code size} entries, avail_event included. */
    public static long bytes(int size) {
        return RING + (long) ELEMENT * size + 2;
    }

    void setFlags(int flags) {
        memory.writeU16(base, flags);
    }

    /** Fills slot {@code position} (modulo the size); the driver sees it once {@link #publish} moves idx past it. */
    void put(int position, int id, int length) {
        long at = base + RING + (long) ELEMENT * (position % size);
        memory.writeU32(at, id);
        memory.writeU32(at + 4, length);
    }

    /** Stores idx with release ordering: the elements written before are visible first. */
    void publish(int idx) {
        VarHandle.releaseFence();
        memory.writeU16(base + 2, idx);
    }

    int idx() {
        return memory.readU16(base + 2);
    }

    void setAvailEvent(int idx) {
        memory.writeU16(base + RING + (long) ELEMENT * size, idx);
    }
}
