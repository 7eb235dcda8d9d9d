package io.vessel.vmm.boot;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.MemoryRegion;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** One entry of the physical memory map a guest is given (ACPI address range types). */
public record E820Entry(long address, long size, int type) {
    /** ACPI spec, table 15-374 "Address Range Types": usable RAM, reserved. */
    public static final int RAM = 1, RESERVED = 2;

    /**
     * The map for {@code memory}: low RAM up to the EBDA, the legacy BIOS area reserved, RAM from
     * 1 MiB to the end of the low region, and any RAM above 4 GiB.
     */
    public static List<E820Entry> of(GuestMemory memory) {
        List<E820Entry> map = new ArrayList<>();
        map.add(new E820Entry(0, Layout.EBDA_START, RAM));
        map.add(new E820Entry(Layout.EBDA_START, Layout.HIMEM_START - Layout.EBDA_START, RESERVED));
        for (MemoryRegion r : memory.regions()) {
            long start = Math.max(r.start().value(), Layout.HIMEM_START);
            if (r.end() > start) {
                map.add(new E820Entry(start, r.end() - start, RAM));
            }
        }
        return map;
    }

    public long end() {
        return address + size;
    }

    /**
     * {@code map} with {@code [start, end)} marked {@link #RESERVED}: RAM entries that overlap the
     * range are cut around it, and reserved entries that touch it are merged with it, so a range
     * inside an already reserved area leaves the map as it was. Sorted by address.
     */
    public static List<E820Entry> reserve(List<E820Entry> map, long start, long end) {
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("e820: cannot reserve the empty or negative range [0x" + Long.toHexString(start)
                    + ", 0x" + Long.toHexString(end) + ")");
        }
        List<E820Entry> cut = new ArrayList<>();
        for (E820Entry e : map) {
            if (e.end() <= start || e.address >= end || e.type == RESERVED) {
                cut.add(e);
                continue;
            }
            if (e.address < start) {
                cut.add(new E820Entry(e.address, start - e.address, e.type));
            }
            if (e.end() > end) {
                cut.add(new E820Entry(end, e.end() - end, e.type));
            }
        }
        cut.add(new E820Entry(start, end - start, RESERVED));
        cut.sort(Comparator.comparingLong(E820Entry::address));
        List<E820Entry> merged = new ArrayList<>();
        for (E820Entry e : cut) {
            E820Entry last = merged.isEmpty() ? null : merged.getLast();
            if (last != null && last.type == RESERVED && e.type == RESERVED && e.address <= last.end()) {
                merged.set(merged.size() - 1, new E820Entry(last.address, Math.max(last.end(), e.end()) - last.address, RESERVED));
            } else {
                merged.add(e);
            }
        }
        return List.copyOf(merged);
    }
}
