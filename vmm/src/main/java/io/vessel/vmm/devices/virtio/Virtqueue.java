package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.GuestMemoryException;

import java.lang.invoke.VarHandle;

/**
 * A split virtqueue (virtio 1.2, 2.7) as the device sees it. The transport fills in its
 * configuration (size and the three area addresses) while the driver sets it up;
 * {@link #activate} validates that configuration against guest RAM and the negotiated features.
 * Then the device {@link #pop}s chains from the available ring, hands them back with
 * {@link #addUsed}, and asks {@link #needsNotification} whether to interrupt the driver
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with VIRTIO_F_EVENT_IDX).
 *
 * <p>Every value the driver controls at run time is validated: an available index that runs more
 * than the queue size ahead, a head outside the table, or a malformed chain (see
 * {@link DescriptorChain}) raise {@link VirtioException}, after which the device needs a reset.
 * Not thread-safe: the owning device serialises access.
 */
public final class Virtqueue {
    /** The largest split queue (2.7: "Queue Size ... maximum 32768"). */
    public static final int MAX_SIZE = 32768;
    /** Alignment of the descriptor table, driver area and device area (2.7, table "Virtqueue Part Alignment"). */
    public static final int DESC_ALIGN = 16;
    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;

    private final int maxSize;
    private int size;
    private long descTable;
    private long availRing;
    private long usedRing;
    private boolean ready;

    private GuestMemory memory;
    private DescriptorTable table;
    private AvailableRing avail;
    private UsedRing used;
    private boolean indirect;
    private boolean eventIdx;
    private int lastAvailIdx;
    private int nextUsedIdx;
    private int signalledUsedIdx;
    private boolean signalledValid;

    /** A queue offering at most {@code maxSize} entries (a power of two, up to {@link #MAX_SIZE}). */
    public Virtqueue(int maxSize) {
        if (maxSize <= 0 || maxSize > MAX_SIZE || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue size " + maxSize + " is not a power of two up to " + MAX_SIZE);
        }
        this.maxSize = maxSize;
        this.size = maxSize;
    }

    public int maxSize() {
        return maxSize;
    }

    public int size() {
        return size;
    }

    public boolean isReady() {
        return ready;
    }

    public long descTable() {
        return descTable;
    }

    public long availRing() {
        return availRing;
    }

    public long usedRing() {
        return usedRing;
    }

    void setSize(int size) {
        this.size = size;
    }

    void setDescTable(long gpa) {
        this.descTable = gpa;
    }

    void setAvailRing(long gpa) {
        this.availRing = gpa;
    }

    void setUsedRing(long gpa) {
        this.usedRing = gpa;
    }

    /**
     * Checks the configuration and makes the queue usable: size a power of two up to the maximum,
     * each area aligned and wholly inside guest RAM.
     */
    void activate(GuestMemory memory, long features) throws VirtioException {
        if (size <= 0 || size > maxSize || Integer.bitCount(size) != 1) {
            throw new VirtioException("queue size " + size + " is not a power of two between 1 and " + maxSize);
        }
        checkArea("descriptor table", descTable, DESC_ALIGN, (long) size * Descriptor.SIZE, memory);
        checkArea("driver area (available ring)", availRing, AVAIL_ALIGN, AvailableRing.bytes(size), memory);
        checkArea("device area (used ring)", usedRing, USED_ALIGN, UsedRing.bytes(size), memory);
        this.memory = memory;
        this.table = new DescriptorTable(memory, descTable, size);
        this.avail = new AvailableRing(memory, availRing, size);
        this.used = new UsedRing(memory, usedRing, size);
        this.indirect = Features.has(features, Features.INDIRECT_DESC);
        this.eventIdx = Features.has(features, Features.EVENT_IDX);
        this.lastAvailIdx = 0;
        this.nextUsedIdx = 0;
        this.signalledValid = false;
        this.ready = true;
    }

    private static void checkArea(String what, long gpa, int alignment, long bytes, GuestMemory memory)
            throws VirtioException {
        if ((gpa & (alignment - 1)) != 0) {
            throw new VirtioException(what + " at 0x" + Long.toHexString(gpa) + " is not " + alignment + "-byte aligned");
        }
        if (!memory.isRam(gpa, bytes)) {
            throw new VirtioException(what + " [0x" + Long.toHexString(gpa) + ", +" + bytes + ") is not in guest RAM");
        }
    }

    /** Back to the state after a device reset: not ready, default size, no addresses. */
    void reset() {
        ready = false;
        size = maxSize;
        descTable = 0;
        availRing = 0;
        usedRing = 0;
        memory = null;
        table = null;
        avail = null;
        used = null;
    }

    /** The next available chain, or null when the driver has posted nothing new. */
    public DescriptorChain pop() throws VirtioException {
        checkReady();
        try {
            int availIdx = avail.idx();
            int pending = (availIdx - lastAvailIdx) & 0xFFFF;
            if (pending == 0) {
                return null;
            }
            if (pending > size) {
                throw new VirtioException("available index " + availIdx + " is " + pending
                        + " entries ahead of the device's " + lastAvailIdx + ", more than the queue size " + size);
            }
            int head = avail.ring(lastAvailIdx);
            if (head >= size) {
                throw new VirtioException("available ring slot " + (lastAvailIdx % size) + " names head " + head
                        + ", outside a queue of " + size);
            }
            DescriptorChain chain = DescriptorChain.parse(memory, table, head, indirect, maxSize);
            lastAvailIdx = (lastAvailIdx + 1) & 0xFFFF;
            return chain;
        } catch (GuestMemoryException e) {
            throw new VirtioException("queue ring access: " + e.getMessage());
        }
    }

    /**
     * How many chains the driver has made available and the device not yet popped, as the ring
     * says now (a device that needs several at once compares it before and after asking for
     * notifications, to tell new buffers from the ones it already found too few).
     */
    public int availableCount() throws VirtioException {
        checkReady();
        try {
            int pending = (avail.idx() - lastAvailIdx) & 0xFFFF;
            if (pending > size) {
                throw new VirtioException("available index is " + pending + " entries ahead of the device's "
                        + lastAvailIdx + ", more than the queue size " + size);
            }
            return pending;
        } catch (GuestMemoryException e) {
            throw new VirtioException("available ring access: " + e.getMessage());
        }
    }

    /** Puts the last popped chain back (a rate-limited device retries it later). */
    public void undoPop() {
        lastAvailIdx = (lastAvailIdx - 1) & 0xFFFF;
    }

    /** Returns chain {@code head} to the driver, {@code length} bytes written into its writable buffers. */
    public void addUsed(int head, int length) throws VirtioException {
        checkReady();
        try {
            used.put(nextUsedIdx, head, length);
            nextUsedIdx = (nextUsedIdx + 1) & 0xFFFF;
            used.publish(nextUsedIdx);
        } catch (GuestMemoryException e) {
            throw new VirtioException("used ring access: " + e.getMessage());
        }
    }

    /**
     * Returns several chains at once and publishes them with one index update, so the driver sees
     * all of them or none: a frame spread over mergeable receive buffers must not appear half
     * delivered. {@code heads[i]} had {@code lengths[i]} bytes written.
     */
    public void addUsed(int[] heads, int[] lengths) throws VirtioException {
        checkReady();
        if (heads.length != lengths.length) {
            throw new IllegalArgumentException(heads.length + " heads but " + lengths.length + " lengths");
        }
        try {
            for (int i = 0; i < heads.length; i++) {
                used.put(nextUsedIdx, heads[i], lengths[i]);
                nextUsedIdx = (nextUsedIdx + 1) & 0xFFFF;
            }
            used.publish(nextUsedIdx);
        } catch (GuestMemoryException e) {
            throw new VirtioException("used ring access: " + e.getMessage());
        }
    }

    /**
     * Whether the driver wants an interrupt for the buffers used since the last time this said
     * yes: with EVENT_IDX, whether used idx moved past used_event; otherwise unless the driver set
     * NO_INTERRUPT.
     */
    public boolean needsNotification() throws VirtioException {
        checkReady();
        VarHandle.fullFence();
        try {
            if (!eventIdx) {
                return (avail.flags() & AvailableRing.F_NO_INTERRUPT) == 0;
            }
            int old = signalledUsedIdx;
            boolean valid = signalledValid;
            signalledUsedIdx = nextUsedIdx;
            signalledValid = true;
            return !valid || needEvent(avail.usedEvent(), nextUsedIdx, old);
        } catch (GuestMemoryException e) {
            throw new VirtioException("available ring access: " + e.getMessage());
        }
    }

    /**
     * virtio 1.2, 2.7.10: notify when {@code eventIdx} lies in {@code [oldIdx, newIdx)}, all modulo 2^16.
     */
    static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return ((newIdx - eventIdx - 1) & 0xFFFF) < ((newIdx - oldIdx) & 0xFFFF);
    }

    /** Asks the driver not to notify while the device is draining the queue anyway. */
    public void disableNotification() throws VirtioException {
        checkReady();
        if (eventIdx) {
            return; // avail_event stays behind: the driver only notifies on crossing it
        }
        try {
            used.setFlags(UsedRing.F_NO_NOTIFY);
        } catch (GuestMemoryException e) {
            throw new VirtioException("used ring access: " + e.getMessage());
        }
    }

    /**
     * Asks the driver to notify again for the next buffer; returns true if buffers arrived
     * meanwhile, so that the device drains them instead of waiting for a notification that will
     * not come.
     */
    public boolean enableNotification() throws VirtioException {
        checkReady();
        try {
            if (eventIdx) {
                used.setAvailEvent(lastAvailIdx);
            } else {
                used.setFlags(0);
            }
            VarHandle.fullFence();
            return avail.idx() != lastAvailIdx;
        } catch (GuestMemoryException e) {
            throw new VirtioException("ring access: " + e.getMessage());
        }
    }

    /**
     * Asks the driver to notify when it makes chains available beyond those already there: for a
     * device that found the available chains too few for what it must place (with EVENT_IDX,
     * avail_event becomes the driver's current avail idx, as vhost does). The caller then compares
     * {@link #availableCount()} with what it found, for chains that came in between.
     */
    public void enableNotificationForMore() throws VirtioException {
        checkReady();
        try {
            if (eventIdx) {
                used.setAvailEvent(avail.idx());
            } else {
                used.setFlags(0);
            }
            VarHandle.fullFence();
        } catch (GuestMemoryException e) {
            throw new VirtioException("ring access: " + e.getMessage());
        }
    }

    private void checkReady() throws VirtioException {
        if (!ready) {
            throw new VirtioException("queue is not ready");
        }
    }
}
