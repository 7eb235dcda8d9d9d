package io.vessel.vmm.memory;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GuestMemoryTest {
    @Test
    void smallGuestIsOneRegionFromZero() throws Exception {
        try (GuestMemory mem = GuestMemory.x86(1 << 20)) {
            assertEquals(1, mem.regions().size());
            assertEquals(1 << 20, mem.size());
            mem.writeU64(0x1000, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, mem.readU64(0x1000));
            assertEquals(0x7788, mem.readU16(0x1000));
            mem.write(0xFFFF0, new byte[] {1, 2, 3});
            assertArrayEquals(new byte[] {1, 2, 3}, mem.read(0xFFFF0, 3));
        }
    }

    @Test
    void rangesOutsideRamAreRefused() throws Exception {
        try (GuestMemory mem = GuestMemory.x86(1 << 20)) {
            assertThrows(GuestMemoryException.class, () -> mem.readU32((1 << 20) - 2));
            assertThrows(GuestMemoryException.class, () -> mem.slice(0x100, -1));
            assertThrows(GuestMemoryException.class, () -> mem.slice(-8, 16));
            assertThrows(GuestMemoryException.class, () -> mem.slice(0xFFFF_FFFF_FFFF_FFF0L, 0x20));
            assertTrue(mem.isRam(0, 1 << 20));
            assertFalse(mem.isRam(0, (1 << 20) + 1));
        }
    }

    @Test
    void largeGuestSkipsTheMmioHole() throws Exception {
        long size = GuestMemory.MMIO_HOLE_START + (64L << 20);
        try (GuestMemory mem = GuestMemory.x86(size)) {
            assertEquals(2, mem.regions().size());
            assertEquals(GuestMemory.HIGH_RAM_START, mem.regions().get(1).start().value());
            assertFalse(mem.isRam(GuestMemory.MMIO_HOLE_START, 4));
            assertThrows(GuestMemoryException.class, () -> mem.slice(GuestMemory.MMIO_HOLE_START - 4, 8));
            mem.writeU32(GuestMemory.HIGH_RAM_START + 16, 42);
            assertEquals(42, mem.readU32(GuestMemory.HIGH_RAM_START + 16));
        }
    }
}
