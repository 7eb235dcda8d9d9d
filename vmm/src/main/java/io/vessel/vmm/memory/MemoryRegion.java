package io.vessel.vmm.memory;

import java.lang.foreign.MemorySegment;

/** One contiguous run of guest RAM: guest-physical {@code start}, backed by host mapping {@code host}. */
public record MemoryRegion(int slot, GuestAddress start, MemorySegment host) {
    public long size() {
        return host.byteSize();
    }

    /** The first guest-physical address after this region. */
    public long end() {
        return start.value() + host.byteSize();
    }

    public boolean contains(long gpa, long length) {
        return Long.compareUnsigned(gpa, start.value()) >= 0 && length >= 0
                && Long.compareUnsigned(gpa - start.value(), size()) <= 0
                && Long.compareUnsigned(length, size() - (gpa - start.value())) <= 0;
    }
}
