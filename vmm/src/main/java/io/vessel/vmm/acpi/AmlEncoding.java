package io.vessel.vmm.acpi;

import java.util.ArrayList;
import java.util.List;

/**
 * The encodings AML shares between its terms (ACPI 6.5, section 20.2): package lengths, name
 * strings and integer constants. Kept apart from {@link Aml} so each rule is written, and tested
 * byte for byte, once.
 */
final class AmlEncoding {
    // Name string prefixes and data prefixes, ACPI 6.5 section 20.2.2 and 20.2.3.
    static final int ROOT_CHAR = 0x5C;        // '\'
    static final int PARENT_PREFIX = 0x5E;    // '^'
    static final int DUAL_NAME_PREFIX = 0x2E;
    static final int MULTI_NAME_PREFIX = 0x2F;
    static final int NULL_NAME = 0x00;
    static final int ZERO_OP = 0x00;
    static final int ONE_OP = 0x01;
    static final int ONES_OP = 0xFF;
    static final int BYTE_PREFIX = 0x0A;
    static final int WORD_PREFIX = 0x0B;
    static final int DWORD_PREFIX = 0x0C;
    static final int QWORD_PREFIX = 0x0E;

    /** A PkgLength counts itself, so its largest value is 2^28 - 1 (four bytes: 4 + 3*8 bits). */
    static final int MAX_PKG_LENGTH = (1 << 28) - 1;
    /** Largest length a one-byte PkgLength holds: bits 0-5 (bits 6-7 are the byte count). */
    private static final int MAX_ONE_BYTE = 0x3F;

    private AmlEncoding() {
    }

    /**
     * The PkgLength for a package whose contents after the PkgLength are {@code contentLength}
     * bytes. The encoded length includes the PkgLength bytes themselves: one byte holds up to 63;
     * otherwise bits 7-6 of the lead byte say how many bytes follow (1-3), its bits 3-0 are the
     * low nibble, and each following byte holds the next 8 bits.
     */
    static byte[] pkgLength(int contentLength) {
        if (contentLength < 0) {
            throw new IllegalArgumentException("AML package content length " + contentLength + " is negative");
        }
        if (contentLength + 1 <= MAX_ONE_BYTE) {
            return new byte[] {(byte) (contentLength + 1)};
        }
        for (int n = 2; n <= 4; n++) {
            long total = (long) contentLength + n;
            if (total < (1L << (4 + 8 * (n - 1)))) {
                byte[] out = new byte[n];
                out[0] = (byte) (((n - 1) << 6) | (total & 0x0F));
                for (int i = 1; i < n; i++) {
                    out[i] = (byte) (total >>> (4 + 8 * (i - 1)));
                }
                return out;
            }
        }
        throw new IllegalArgumentException("AML package of " + contentLength + " bytes exceeds the PkgLength maximum of "
                + MAX_PKG_LENGTH + " bytes");
    }

    /**
     * An integer constant in its shortest form: ZeroOp, OneOp, OnesOp (all 64 bits set, in a
     * revision 2 definition block), else the smallest of Byte/Word/DWord/QWord prefixes.
     * {@code value} is read as unsigned.
     */
    static void integer(LeBytes out, long value) {
        if (value == 0) {
            out.u8(ZERO_OP);
        } else if (value == 1) {
            out.u8(ONE_OP);
        } else if (value == -1L) {
            out.u8(ONES_OP);
        } else if (Long.compareUnsigned(value, 0xFF) <= 0) {
            out.u8(BYTE_PREFIX).u8((int) value);
        } else if (Long.compareUnsigned(value, 0xFFFF) <= 0) {
            out.u8(WORD_PREFIX).u16((int) value);
        } else if (Long.compareUnsigned(value, 0xFFFF_FFFFL) <= 0) {
            out.u8(DWORD_PREFIX).u32(value);
        } else {
            out.u8(QWORD_PREFIX).u64(value);
        }
    }

    /**
     * A NameString from ASL path syntax: an optional {@code \} (root) or {@code ^}s (parent),
     * then dot-separated segments of 1-4 characters ({@code A-Z _} first, then {@code A-Z 0-9 _}),
     * each padded with {@code _} to four. {@code "\\_SB_.COM1"}, {@code "_HID"}, {@code "^V0"}.
     */
    static void nameString(LeBytes out, String path) {
        int i = 0;
        if (path.startsWith("\\")) {
            out.u8(ROOT_CHAR);
            i = 1;
        } else {
            while (i < path.length() && path.charAt(i) == '^') {
                out.u8(PARENT_PREFIX);
                i++;
            }
        }
        String rest = path.substring(i);
        List<String> segments = new ArrayList<>();
        if (!rest.isEmpty()) {
            for (String s : rest.split("\\.", -1)) {
                segments.add(nameSeg(s, path));
            }
        }
        if (segments.size() > 255) {
            throw new IllegalArgumentException("AML name \"" + path + "\" has more than 255 segments");
        }
        switch (segments.size()) {
            case 0 -> out.u8(NULL_NAME);
            case 1 -> { }
            case 2 -> out.u8(DUAL_NAME_PREFIX);
            default -> out.u8(MULTI_NAME_PREFIX).u8(segments.size());
        }
        for (String s : segments) {
            for (int c = 0; c < 4; c++) {
                out.u8(s.charAt(c));
            }
        }
    }

    /** One 4-character NameSeg, padded with {@code _}. */
    private static String nameSeg(String seg, String path) {
        if (seg.isEmpty() || seg.length() > 4) {
            throw new IllegalArgumentException("AML name \"" + path + "\": segment \"" + seg + "\" must be 1 to 4 characters");
        }
        for (int c = 0; c < seg.length(); c++) {
            char ch = seg.charAt(c);
            boolean lead = (ch >= 'A' && ch <= 'Z') || ch == '_';
            boolean ok = lead || (c > 0 && ch >= '0' && ch <= '9');
            if (!ok) {
                throw new IllegalArgumentException("AML name \"" + path + "\": segment \"" + seg
                        + "\" may hold only A-Z, _ and (after the first) 0-9");
            }
        }
        return (seg + "___").substring(0, 4);
    }
}
