package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.GuestMemoryException;

/**
 * A descriptor table in guest memory: the queue's own table, or an indirect one. Reading an entry
 * checks the index against the table's length and the address against guest RAM.
 */
public final class DescriptorTable {
    private final GuestMemory memory;
    private final long base;
    private final int count;

    public DescriptorTable(GuestMemory memory, long base, int count) {
        this.memory = memory;
        this.base = base;
        this.count = count;
    }

    public int count() {
        return count;
    }

    public Descriptor get(int index) throws VirtioException {
        if (index < 0 || index >= count) {
            throw new VirtioException("descriptor index " + index + " is outside a table of " + count + " entries at 0x"
                    + Long.toHexString(base));
        }
        long at = base + (long) index * Descriptor.SIZE;
        try {
            return new Descriptor(memory.readU64(at), memory.readU32(at + 8), memory.readU16(at + 12),
                    memory.readU16(at + 14));
        } catch (GuestMemoryException e) {
            throw new VirtioException("descriptor " + index + " at 0x" + Long.toHexString(at) + ": " + e.getMessage());
        }
    }
}
