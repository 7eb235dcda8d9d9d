package io.vessel.vmm.boot;

import io.vessel.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class E820EntryTest {
    private static final int RAM = E820Entry.RAM, RES = E820Entry.RESERVED;

    @Test
    void aRangeInsideTheBiosAreaLeavesTheMapAsItWas() throws Exception {
        try (GuestMemory m = GuestMemory.x86(16L << 20)) {
            List<E820Entry> map = E820Entry.of(m);
            assertEquals(map, E820Entry.reserve(map, 0xE0000, 0xE0400));
            assertEquals(3, map.size());
        }
    }

    @Test
    void aRangeInRamIsCutOutOfIt() {
        List<E820Entry> map = List.of(new E820Entry(0, 0x9FC00, RAM), new E820Entry(0x9FC00, 0x60400, RES),
                new E820Entry(0x100000, 0xF00000, RAM));
        assertEquals(List.of(new E820Entry(0, 0x9FC00, RAM), new E820Entry(0x9FC00, 0x60400, RES),
                        new E820Entry(0x100000, 0x100000, RAM), new E820Entry(0x200000, 0x1000, RES),
                        new E820Entry(0x201000, 0xDFF000, RAM)),
                E820Entry.reserve(map, 0x200000, 0x201000));
    }

    @Test
    void aRangeTouchingAReservedEntryMergesWithIt() {
        List<E820Entry> map = List.of(new E820Entry(0, 0x9FC00, RAM), new E820Entry(0x9FC00, 0x60400, RES),
                new E820Entry(0x100000, 0xF00000, RAM));
        assertEquals(List.of(new E820Entry(0, 0x9FC00, RAM), new E820Entry(0x9FC00, 0x61400, RES),
                        new E820Entry(0x101000, 0xEFF000, RAM)),
                E820Entry.reserve(map, 0x100000, 0x101000));
    }

    @Test
    void anEmptyRangeIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> E820Entry.reserve(List.of(), 0x1000, 0x1000));
        assertEquals("e820: cannot reserve the empty or negative range [0x1000, 0x1000)", e.getMessage());
    }
}
