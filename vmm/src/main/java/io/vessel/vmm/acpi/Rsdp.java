package io.vessel.vmm.acpi;

/**
 * The Root System Description Pointer, ACPI 2.0+ form (ACPI 6.5, section 5.2.5.3): what the OS
 * looks for first, on a 16-byte boundary in 0xE0000-0xFFFFF (or where PVH's start info says). It
 * holds the XSDT's address (no RSDT: revision 2 OSes use the XSDT) and two checksums: one over
 * the first 20 bytes (the ACPI 1.0 part) and one over all 36.
 */
final class Rsdp {
    static final String SIGNATURE = "RSD PTR ";
    static final int REVISION = 2;
    static final int LENGTH = 36;
    static final int V1_LENGTH = 20;
    static final int CHECKSUM_OFFSET = 8;
    static final int EXTENDED_CHECKSUM_OFFSET = 32;

    private Rsdp() {
    }

    static byte[] build(long xsdtAddress) {
        LeBytes t = new LeBytes()
                .ascii(SIGNATURE, 8)
                .u8(0)                                      // checksum
                .ascii(SystemDescriptionTable.OEM_ID, 6)
                .u8(REVISION)
                .u32(0)                                     // RsdtAddress: none
                .u32(LENGTH)
                .u64(xsdtAddress)
                .u8(0)                                      // extended checksum
                .zeros(3);
        byte[] b = t.toArray();
        b[CHECKSUM_OFFSET] = SystemDescriptionTable.checksum(b, 0, V1_LENGTH);
        b[EXTENDED_CHECKSUM_OFFSET] = SystemDescriptionTable.checksum(b, 0, LENGTH);
        return b;
    }
}
