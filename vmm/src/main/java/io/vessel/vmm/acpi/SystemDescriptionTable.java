package io.vessel.vmm.acpi;

/**
 * The 36-byte header every ACPI system description table starts with (ACPI 6.5, section 5.2.6)
 * and the checksum rule: all bytes of a table sum to zero modulo 256.
 */
final class SystemDescriptionTable {
    static final int HEADER_LENGTH = 36;
    static final int LENGTH_OFFSET = 4;
    static final int CHECKSUM_OFFSET = 9;
    /** The OEM that built the tables: this VMM. */
    static final String OEM_ID = "VESSEL";
    static final long OEM_REVISION = 1;
    /** Creator ID and revision: the "ASL compiler" fields, here the VMM's own table writer. */
    static final String CREATOR_ID = "VSSL";
    static final long CREATOR_REVISION = 1;

    private SystemDescriptionTable() {
    }

    /** A table buffer holding the header, with length and checksum still zero ({@link #finish} sets them). */
    static LeBytes start(String signature, int revision, String oemTableId) {
        if (signature.length() != 4) {
            throw new IllegalArgumentException("ACPI signature \"" + signature + "\" must be 4 characters");
        }
        return new LeBytes()
                .ascii(signature, 4)
                .u32(0)                 // length, set by finish
                .u8(revision)
                .u8(0)                  // checksum, set by finish
                .ascii(OEM_ID, 6)
                .ascii(oemTableId, 8)
                .u32(OEM_REVISION)
                .ascii(CREATOR_ID, 4)
                .u32(CREATOR_REVISION);
    }

    /** Sets the header's length and checksum; returns the finished table. */
    static byte[] finish(LeBytes table) {
        table.putU32At(LENGTH_OFFSET, table.size());
        byte[] b = table.toArray();
        b[CHECKSUM_OFFSET] = checksum(b, 0, b.length);
        return b;
    }

    /** The byte that makes {@code b[from, to)} sum to zero, given that this byte is currently zero. */
    static byte checksum(byte[] b, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += b[i];
        }
        return (byte) -sum;
    }

    /** Whether {@code b[from, to)} sums to zero modulo 256. */
    static boolean sumsToZero(byte[] b, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += b[i];
        }
        return (sum & 0xFF) == 0;
    }
}
