package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.GuestMemoryException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A descriptor table in guest memory: the queue's own table, or an indirect one. The whole table
 * is checked to be guest RAM once, when it is made (its host memory is kept); reading an entry
 * checks the index against the table's length and copies the entry out with two loads, which
 * matters on a device's hot path.
 */
public final class DescriptorTable {
    private final long base;
    private final int count;
    /** The entries, little-endian (at most 32768 × 16 bytes: int offsets suffice). */
    private final ByteBuffer entries;

    /**
     * The table of {@code count} entries at guest-physical {@code base}.
     *
     * @throws GuestMemoryException if the table is not wholly inside guest RAM
     */
    public DescriptorTable(GuestMemory memory, long base, int count) {
        if (count < 1 || count > Virtqueue.MAX_SIZE) {
            throw new IllegalArgumentException("a descriptor table has 1 to " + Virtqueue.MAX_SIZE + " entries, not " + count);
        }
        this.base = base;
        this.count = count;
        this.entries = memory.slice(base, (long) count * Descriptor.SIZE).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    public int count() {
        return count;
    }

    public Descriptor get(int index) throws VirtioException {
        if (index < 0 || index >= count) {
            throw new VirtioException("descriptor index " + index + " is outside a table of " + count + " entries at 0x"
                    + Long.toHexString(base));
        }
        int at = index * Descriptor.SIZE;
        long address = entries.getLong(at);
        long rest = entries.getLong(at + 8); // le32 len, le16 flags, le16 next
        return new Descriptor(address, (int) rest, (int) (rest >>> 32) & 0xFFFF, (int) (rest >>> 48) & 0xFFFF);
    }
}
