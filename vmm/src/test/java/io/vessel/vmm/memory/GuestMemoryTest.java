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

    @Test
    void scalarAccessesAgreeWithSlicesAcrossGigabyteBoundariesAndRegions() throws Exception {
        long size = GuestMemory.MMIO_HOLE_START + (64L << 20); // untouched pages cost nothing (MAP_NORESERVE)
        try (GuestMemory mem = GuestMemory.x86(size)) {
            long gib = 1L << 30;
            long[] places = {0, gib - 8, gib - 3, gib, 2 * gib - 5, GuestMemory.MMIO_HOLE_START - 8,
                    GuestMemory.HIGH_RAM_START, GuestMemory.HIGH_RAM_START + (64L << 20) - 8};
            long value = 0x0123_4567_89AB_CDEFL;
            for (long at : places) {
                mem.writeU64(at, value);
                assertEquals(value, mem.readU64(at), "u64 at 0x" + Long.toHexString(at));
                assertEquals(value, mem.slice(at, 8).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0));
                assertEquals((int) value, mem.readU32(at));
                assertEquals(0xCDEF, mem.readU16(at));
                assertEquals(0xEF, mem.readU8(at));
                mem.writeU16(at + 6, 0xBEEF);
                mem.writeU8(at + 5, 0x7F);
                mem.writeU32(at, 0xCAFE_F00D);
                assertArrayEquals(new byte[] {0x0D, (byte) 0xF0, (byte) 0xFE, (byte) 0xCA, 0x67, 0x7F, (byte) 0xEF,
                        (byte) 0xBE}, mem.read(at, 8), "bytes at 0x" + Long.toHexString(at));
            }
            assertThrows(GuestMemoryException.class, () -> mem.readU64(GuestMemory.MMIO_HOLE_START - 4));
            assertThrows(GuestMemoryException.class, () -> mem.writeU16(GuestMemory.HIGH_RAM_START + (64L << 20) - 1, 1));
            assertThrows(GuestMemoryException.class, () -> mem.readU8(-1));
        }
    }
}
