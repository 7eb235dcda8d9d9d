package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.GuestMemoryException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A descriptor table in guest memory: the queue's own table, or an indirect one. The whole table
 * is checked to be guest RAM once, when it is made (its host memory is kept); reading an entry
 * checks the index against the table's length and copies the entry out with two loads, which
 * matters on a device's hot path.
 */
public final class DescriptorTable {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final long base;
    private final int count;
    private final MemorySegment entries;

    /**
     * The table of {@code count} entries at guest-physical {@code base}.
     *
     * @throws GuestMemoryException if the table is not wholly inside guest RAM
     */
    public DescriptorTable(GuestMemory memory, long base, int count) {
        this.base = base;
        this.count = count;
        this.entries = memory.slice(base, (long) count * Descriptor.SIZE);
    }

    public int count() {
        return count;
    }

    public Descriptor get(int index) throws VirtioException {
        if (index < 0 || index >= count) {
            throw new VirtioException("descriptor index " + index + " is outside a table of " + count + " entries at 0x"
                    + Long.toHexString(base));
        }
        long at = (long) index * Descriptor.SIZE;
        long address = entries.get(U64, at);
        long rest = entries.get(U64, at + 8); // le32 len, le16 flags, le16 next
        return new Descriptor(address, (int) rest, (int) (rest >>> 32) & 0xFFFF, (int) (rest >>> 48) & 0xFFFF);
    }
}
