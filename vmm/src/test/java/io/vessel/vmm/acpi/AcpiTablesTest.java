package io.vessel.vmm.acpi;

import io.vessel.vmm.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AcpiTablesTest {
    static final List<MmioDeviceInfo> TWO_DEVICES = List.of(
            new MmioDeviceInfo(0xD000_0000L, 0x1000, 5), new MmioDeviceInfo(0xD000_1000L, 0x1000, 6));

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static String ascii(byte[] b, int from, int length) {
        return new String(b, from, length, StandardCharsets.US_ASCII);
    }

    @Test
    void everyTableHasItsLengthAndChecksum() {
        Placement p = AcpiTables.build(2, TWO_DEVICES).place(AcpiTables.RSDP_ADDRESS);
        for (Placement.Table t : p.tables()) {
            byte[] b = t.bytes();
            if (t.signature().equals("RSDP")) {
                assertEquals("RSD PTR ", ascii(b, 0, 8));
                assertEquals(2, b[15], "RSDP revision");
                assertEquals(36, le(b).getInt(20), "RSDP length");
                assertTrue(SystemDescriptionTable.sumsToZero(b, 0, 20), "RSDP checksum over the first 20 bytes");
                assertTrue(SystemDescriptionTable.sumsToZero(b, 0, 36), "RSDP extended checksum");
            } else {
                assertEquals(t.signature(), ascii(b, 0, 4));
                assertEquals(b.length, le(b).getInt(4), t.signature() + " length");
                assertTrue(SystemDescriptionTable.sumsToZero(b, 0, b.length), t.signature() + " checksum");
                assertEquals("VESSEL", ascii(b, 10, 6));
            }
            assertEquals(0, t.address() % 16, t.signature() + " alignment");
        }
    }

    @Test
    void pointersLinkTheTables() {
        Placement p = AcpiTables.build(1, TWO_DEVICES).place(AcpiTables.RSDP_ADDRESS);
        assertEquals(AcpiTables.RSDP_ADDRESS, p.rsdpAddress());
        assertEquals(0, le(p.table("RSDP").bytes()).getInt(16), "no RSDT");
        assertEquals(p.table("XSDT").address(), le(p.table("RSDP").bytes()).getLong(24));
        ByteBuffer xsdt = le(p.table("XSDT").bytes());
        assertEquals(36 + 16, xsdt.limit());
        assertEquals(p.table("FACP").address(), xsdt.getLong(36));
        assertEquals(p.table("APIC").address(), xsdt.getLong(44));
        ByteBuffer fadt = le(p.table("FACP").bytes());
        assertEquals(p.table("DSDT").address(), fadt.getLong(140), "X_DSDT");
        assertEquals(0, fadt.getInt(40), "32-bit DSDT left zero when X_DSDT is set");
        assertTrue(p.end() <= AcpiTables.BIOS_AREA_END);
        // the tables do not overlap
        List<Placement.Table> ts = p.tables();
        for (int i = 1; i < ts.size(); i++) {
            assertTrue(ts.get(i).address() >= ts.get(i - 1).end());
        }
    }

    @Test
    void fadtIsHardwareReducedWithSleepRegisters() {
        byte[] fadt = AcpiTables.build(1, List.of()).place(AcpiTables.RSDP_ADDRESS).table("FACP").bytes();
        ByteBuffer b = le(fadt);
        assertEquals(276, fadt.length);
        assertEquals(6, fadt[8], "revision");
        assertEquals(5, fadt[131], "minor version");
        assertTrue((b.getInt(112) & (1 << 20)) != 0, "HW_REDUCED_ACPI");
        assertEquals(0, b.getShort(46), "no SCI");
        for (int off = 56; off < 88; off += 4) {
            assertEquals(0, b.getInt(off), "legacy PM block at " + off);
        }
        for (int gas : new int[] {244, 256}) { // sleep control, sleep status: byte registers at the port
            assertEquals(GenericAddress.SYSTEM_IO, fadt[gas]);
            assertEquals(8, fadt[gas + 1]);
            assertEquals(GenericAddress.BYTE_ACCESS, fadt[gas + 3]);
            assertEquals(AcpiSleepControl.PORT, b.getLong(gas + 4));
        }
        assertEquals("VESSELVM", ascii(fadt, 268, 8));
    }

    @Test
    void madtDescribesEveryVcpu() {
        for (int n : new int[] {1, 4, 255}) {
            byte[] madt = AcpiTables.build(n, List.of()).madt();
            ByteBuffer b = le(madt);
            assertEquals(0xFEE0_0000, b.getInt(36));
            assertEquals(1, b.getInt(40), "PCAT_COMPAT");
            List<Integer> apicIds = new ArrayList<>();
            int ioapics = 0;
            int nmis = 0;
            for (int off = 44; off < madt.length; off += madt[off + 1] & 0xFF) {
                switch (madt[off]) {
                    case 0 -> {
                        assertEquals(8, madt[off + 1]);
                        assertEquals(madt[off + 2], madt[off + 3], "processor UID = APIC ID");
                        assertEquals(1, b.getInt(off + 4), "enabled");
                        apicIds.add(madt[off + 3] & 0xFF);
                    }
                    case 1 -> {
                        ioapics++;
                        assertEquals(0xFEC0_0000, b.getInt(off + 4));
                        assertEquals(0, b.getInt(off + 8), "GSI base");
                    }
                    case 4 -> {
                        nmis++;
                        assertEquals((byte) 0xFF, madt[off + 2]);
                        assertEquals(1, madt[off + 5], "LINT1");
                    }
                    default -> throw new AssertionError("unexpected MADT entry type " + madt[off]);
                }
            }
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                expected.add(i);
            }
            assertEquals(expected, apicIds);
            assertEquals(1, ioapics);
            assertEquals(1, nmis);
        }
    }

    @Test
    void interruptSourceOverridesAreEncoded() {
        Platform p = new Platform(1, true, false, List.of(),
                List.of(new InterruptOverride(0, 2, AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH),
                        new InterruptOverride(9, 9, AmlResource.Trigger.LEVEL, AmlResource.Polarity.ACTIVE_LOW)));
        byte[] madt = AcpiTables.build(p).madt();
        int off = 44 + 8 + 12; // one local APIC, the IOAPIC
        assertArrayEquals(new byte[] {2, 10, 0, 0, 2, 0, 0, 0, 0b0101, 0}, java.util.Arrays.copyOfRange(madt, off, off + 10));
        assertArrayEquals(new byte[] {2, 10, 0, 9, 9, 0, 0, 0, 0b1111, 0}, java.util.Arrays.copyOfRange(madt, off + 10, off + 20));
    }

    @Test
    void badMachinesAreRefusedByName() {
        assertMessage(() -> AcpiTables.build(0, List.of()), "0 vCPUs");
        assertMessage(() -> AcpiTables.build(256, List.of()), "256 vCPUs");
        assertMessage(() -> AcpiTables.build(1, List.of(new MmioDeviceInfo(0xD000_0000L, 0x1000, 4))), "GSI 4 is already used");
        assertMessage(() -> AcpiTables.build(1, List.of(new MmioDeviceInfo(0xD000_0000L, 0x1000, 24))), "beyond the IOAPIC");
        assertMessage(() -> AcpiTables.build(1, List.of(new MmioDeviceInfo(0xD000_0000L, 0x1000, 5),
                new MmioDeviceInfo(0xD000_0800L, 0x1000, 6))), "overlap");
        assertMessage(() -> new MmioDeviceInfo(0xFFFF_F000L, 0x2000, 5), "below 4 GiB");
        assertMessage(() -> new InterruptOverride(16, 16, AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH), "ISA IRQ 16");
    }

    @Test
    void placementIsCheckedAndWrittenIntoGuestMemory() throws Exception {
        AcpiTables tables = AcpiTables.build(2, TWO_DEVICES);
        assertMessage(() -> tables.place(AcpiTables.RSDP_ADDRESS + 8), "16-byte boundary");
        assertMessage(() -> tables.place(0xFFF00), "past 1 MiB");
        try (GuestMemory mem = GuestMemory.x86(2 << 20)) {
            Placement p = tables.writeTo(mem, AcpiTables.RSDP_ADDRESS);
            for (Placement.Table t : p.tables()) {
                assertArrayEquals(t.bytes(), mem.read(t.address(), t.bytes().length), t.signature());
            }
            assertEquals("RSD PTR ", new String(mem.read(0xE0000, 8), StandardCharsets.US_ASCII));
            // above the BIOS area the tables may be anywhere in RAM, but not beyond it
            Placement high = tables.writeTo(mem, 0x1F_F000);
            assertEquals(0x1F_F000, high.rsdpAddress());
        }
        try (GuestMemory small = GuestMemory.x86(512 << 10)) {
            assertMessage(() -> tables.writeTo(small, AcpiTables.RSDP_ADDRESS), "not in guest RAM");
            byte[] all = small.read(0, (int) small.size());
            assertArrayEquals(new byte[all.length], all, "nothing written");
        }
    }

    @Test
    void dsdtIsIndependentOfPlacement() {
        AcpiTables tables = AcpiTables.build(2, TWO_DEVICES);
        assertArrayEquals(tables.place(0xE0000).table("DSDT").bytes(), tables.place(0x20_0000).table("DSDT").bytes());
    }

    @Test
    void kernelCommandLineFragments() {
        assertEquals("virtio_mmio.device=4K@0xd0000000:5", TWO_DEVICES.getFirst().cmdlineFragment());
        assertEquals("virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6", MmioDeviceInfo.cmdline(TWO_DEVICES));
        assertEquals("virtio_mmio.device=512@0xd0002000:7", new MmioDeviceInfo(0xD000_2000L, 512, 7).cmdlineFragment());
        assertEquals("", MmioDeviceInfo.cmdline(List.of()));
    }

    @Test
    void sleepControlRecognisesSoftOff() {
        assertEquals(0x34, AcpiSleepControl.powerOffValue());
        assertTrue(AcpiSleepControl.isPowerOff(0x34));
        assertFalse(AcpiSleepControl.isPowerOff(0x14), "S5 type without SLP_EN");
        assertFalse(AcpiSleepControl.isPowerOff(0x20 | (3 << 2)), "S3");
        assertFalse(AcpiSleepControl.isPowerOff(AcpiSleepControl.WAKE_STATUS), "clearing WAK_STS");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "\"" + e.getMessage() + "\" should mention \"" + part + "\"");
    }
}
