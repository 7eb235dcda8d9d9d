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

    /**
     * The byte offset of entry {@code index}, for {@link #address} and {@link #lengthFlagsNext}:
     * the index is checked against the table's length here. Two loads per entry and no object:
     * this is a device's hot path, and in the interpreter every call and allocation counts.
     */
    int offsetOf(int index) throws VirtioException {
        if (index < 0 || index >= count) {
            throw new VirtioException("descriptor index " + index + " is outside a table of " + count + " entries at 0x"
                    + Long.toHexString(base));
        }
        return index * Descriptor.SIZE;
    }

    /** The entry's le64 addr. */
    long address(int offset) {
        return entries.getLong(offset);
    }

    /** The entry's le32 len (low 32 bits), le16 flags (bits 32-47) and le16 next (bits 48-63). */
    long lengthFlagsNext(int offset) {
        return entries.getLong(offset + 8);
    }
}
