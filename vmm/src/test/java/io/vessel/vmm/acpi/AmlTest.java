package io.vessel.vmm.acpi;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AML encodings compared byte for byte with values worked out by hand from ACPI 6.5 chapter 20 and section 6.4. */
class AmlTest {
    private static String hex(byte[] b) {
        return HexFormat.ofDelimiter(" ").withUpperCase().formatHex(b);
    }

    private static String hex(Aml term) {
        return hex(term.bytes());
    }

    private static String name(String path) {
        LeBytes out = new LeBytes();
        AmlEncoding.nameString(out, path);
        return hex(out.toArray());
    }

    @Test
    void integersTakeTheShortestEncoding() {
        assertEquals("00", hex(Aml.integer(0)));                 // ZeroOp
        assertEquals("01", hex(Aml.integer(1)));                 // OneOp
        assertEquals("FF", hex(Aml.integer(-1)));                // OnesOp
        assertEquals("0A 02", hex(Aml.integer(2)));              // BytePrefix
        assertEquals("0A FF", hex(Aml.integer(0xFF)));
        assertEquals("0B 00 01", hex(Aml.integer(0x100)));       // WordPrefix
        assertEquals("0B FF FF", hex(Aml.integer(0xFFFF)));
        assertEquals("0C 00 00 01 00", hex(Aml.integer(0x1_0000)));        // DWordPrefix
        assertEquals("0C 00 00 00 D0", hex(Aml.integer(0xD000_0000L)));
        assertEquals("0C FF FF FF FF", hex(Aml.integer(0xFFFF_FFFFL)));
        assertEquals("0E 00 00 00 00 01 00 00 00", hex(Aml.integer(1L << 32))); // QWordPrefix
        assertEquals("0E FE FF FF FF FF FF FF FF", hex(Aml.integer(-2)));
    }

    @Test
    void pkgLengthInOneToFourBytes() {
        assertEquals("01", hex(AmlEncoding.pkgLength(0)));
        assertEquals("3F", hex(AmlEncoding.pkgLength(62)));            // 63: the largest one-byte length
        assertEquals("41 04", hex(AmlEncoding.pkgLength(63)));         // 65 = 0x041: lead 0x40|1, then 0x04
        assertEquals("4F FF", hex(AmlEncoding.pkgLength(4093)));       // 4095 = 0xFFF, the largest two-byte length
        assertEquals("81 00 01", hex(AmlEncoding.pkgLength(4094)));    // 4097 = 0x01001
        assertEquals("8F FF FF", hex(AmlEncoding.pkgLength(0xFFFFC))); // 0xFFFFF, the largest three-byte length
        assertEquals("C1 00 00 01", hex(AmlEncoding.pkgLength(0xFFFFD)));  // 0x100001
        assertEquals("CF FF FF FF", hex(AmlEncoding.pkgLength((1 << 28) - 5))); // 2^28 - 1, the maximum
        assertThrows(IllegalArgumentException.class, () -> AmlEncoding.pkgLength((1 << 28) - 4));
        assertThrows(IllegalArgumentException.class, () -> AmlEncoding.pkgLength(-1));
    }

    @Test
    void nameStrings() {
        assertEquals("5F 48 49 44", name("_HID"));
        assertEquals("56 30 5F 5F", name("V0"));                                  // padded with '_'
        assertEquals("5C 2E 5F 53 42 5F 43 4F 4D 31", name("\\_SB_.COM1"));       // root, DualNamePrefix
        assertEquals("5C 2F 03 5F 53 42 5F 50 43 49 30 53 30 5F 5F", name("\\_SB_.PCI0.S0")); // MultiNamePrefix, 3
        assertEquals("5C 00", name("\\"));                                         // root alone: NullName
        assertEquals("5E 5E 41 42 43 44", name("^^ABCD"));                         // parent prefixes
        for (String bad : List.of("1ABC", "ABCDE", "ab", "A..B", "\\A-B")) {
            assertThrows(IllegalArgumentException.class, () -> name(bad), bad);
        }
    }

    @Test
    void stringsBuffersPackages() {
        assertEquals("0D 4C 4E 52 4F 30 30 30 35 00", hex(Aml.string("LNRO0005")));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("nul\0"));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("é"));
        assertEquals("11 06 0A 03 01 02 03", hex(Aml.buffer(new byte[] {1, 2, 3})));
        assertEquals("11 02 00", hex(Aml.buffer(new byte[0])));
        // Package(){5, 5, 0, 0}: PkgLength 8 = itself + NumElements + 2 + 2 + 1 + 1
        assertEquals("12 08 04 0A 05 0A 05 00 00",
                hex(Aml.pkg(Aml.integer(5), Aml.integer(5), Aml.integer(0), Aml.integer(0))));
        assertEquals("12 08 02 0D 41 00 12 02 00", hex(Aml.pkg(Aml.string("A"), Aml.pkg()))); // nested empty package
    }

    @Test
    void largePackagesUseVarPackageAndLongPkgLength() {
        List<Aml> ones = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            ones.add(Aml.integer(1));
        }
        byte[] b = new Aml.PackageConst(ones).bytes();
        // VarPackageOp, PkgLength 2+3+256 = 261 = 0x105 -> 45 10, count as WordPrefix 0x0100, then 256 OneOps
        assertEquals("13 45 10 0B 00 01 01", hex(java.util.Arrays.copyOf(b, 7)));
        assertEquals(1 + 2 + 3 + 256, b.length);
    }

    @Test
    void eisaIds() {
        assertEquals(0x0105D041L, new Aml.EisaId("PNP0501").value());
        assertEquals("0C 41 D0 05 01", hex(Aml.eisaId("PNP0501")));
        assertEquals("0C 41 D0 03 03", hex(Aml.eisaId("PNP0303")));
        assertEquals("0C 41 D0 0A 06", hex(Aml.eisaId("PNP0A06")));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("PNP050"));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("pnp0501"));
    }

    @Test
    void namesMethodsDevicesScopes() {
        assertEquals("08 5F 48 49 44 0C 41 D0 05 01", hex(Aml.name("_HID", Aml.eisaId("PNP0501"))));
        // Method(_STA, 0, NotSerialized) { Return (0x0F) }: PkgLength 9 = itself + name 4 + flags 1 + A4 0A 0F
        assertEquals("14 09 5F 53 54 41 00 A4 0A 0F", hex(Aml.method("_STA", 0, Aml.ret(Aml.integer(0x0F)))));
        assertEquals("14 06 46 4F 4F 5F 0B", hex(new Aml.Method("FOO", 3, true, List.of()))); // 3 args | Serialized
        assertThrows(IllegalArgumentException.class, () -> Aml.method("_BAD", 8));
        // Device(COM1) { Name(_UID, One) }: ExtOpPrefix DeviceOp PkgLength 11
        assertEquals("5B 82 0B 43 4F 4D 31 08 5F 55 49 44 01", hex(Aml.device("COM1", Aml.name("_UID", Aml.integer(1)))));
        assertEquals("10 06 5C 5F 53 42 5F", hex(Aml.scope("\\_SB_")));
    }

    @Test
    void resourceDescriptors() {
        assertEquals("47 01 F8 03 F8 03 00 08", hex(desc(AmlResource.io(0x3F8, 0x3F8, 0, 8))));
        assertEquals("86 09 00 01 00 00 00 D0 00 10 00 00", hex(desc(AmlResource.memory32Fixed(0xD000_0000L, 0x1000))));
        assertEquals("89 06 00 03 01 05 00 00 00",
                hex(desc(AmlResource.interrupt(AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH, 5))));
        assertEquals("89 06 00 05 01 17 00 00 00",
                hex(desc(AmlResource.interrupt(AmlResource.Trigger.LEVEL, AmlResource.Polarity.ACTIVE_LOW, 23))));
        assertEquals("89 0A 00 0B 02 05 00 00 00 06 00 00 00", hex(desc(new AmlResource.ExtendedInterrupt(
                AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH, true, List.of(5, 6)))));
        // ResourceTemplate(){ IO(Decode16, 0x3F8, 0x3F8, 0, 8) }: a Buffer of the descriptor and EndTag 79 00
        assertEquals("11 0D 0A 0A 47 01 F8 03 F8 03 00 08 79 00", hex(Aml.resources(AmlResource.io(0x3F8, 0x3F8, 0, 8))));
        assertThrows(IllegalArgumentException.class, () -> AmlResource.io(0x3F8, 0x3F0, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> AmlResource.memory32Fixed(0xFFFF_F000L, 0x2000));
        assertThrows(IllegalArgumentException.class, () -> new AmlResource.ExtendedInterrupt(
                AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH, false, List.of()));
    }

    @Test
    void aDeviceBeyond63BytesGetsATwoBytePkgLength() {
        byte[] b = Aml.device("V000",
                Aml.name("_HID", Aml.string("LNRO0005")),
                Aml.name("_UID", Aml.integer(0)),
                Aml.name("_STR", Aml.string("a virtio-mmio transport, version 2")),
                Aml.name("_CRS", Aml.resources(AmlResource.memory32Fixed(0xD000_0000L, 0x1000),
                        AmlResource.interrupt(AmlResource.Trigger.EDGE, AmlResource.Polarity.ACTIVE_HIGH, 5)))).bytes();
        int contents = b.length - 2 - 2; // ExtOpPrefix, DeviceOp, two PkgLength bytes
        int encoded = (b[2] & 0x0F) | ((b[3] & 0xFF) << 4);
        assertEquals(1, (b[2] & 0xFF) >>> 6, "one more PkgLength byte follows");
        assertEquals(contents + 2, encoded);
        assertTrue(contents + 1 > 63 && contents + 2 <= 0xFFF, "a length that needs exactly two bytes: " + contents);
    }

    private static byte[] desc(AmlResource r) {
        LeBytes out = new LeBytes();
        r.encode(out);
        return out.toArray();
    }
}
