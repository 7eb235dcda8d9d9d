package io.vessel.vmm.boot;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.MemoryRegion;

import java.util.ArrayList;
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
}
