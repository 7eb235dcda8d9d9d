package io.vessel.vmm.acpi;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable little-endian byte buffer: ACPI tables and AML store every multi-byte number
 * least significant byte first (ACPI 6.5, section 5.2.1 and 20.2), so everything here does too.
 */
final class LeBytes {
    private byte[] buf = new byte[64];
    private int size;

    int size() {
        return size;
    }

    LeBytes u8(int value) {
        ensure(1);
        buf[size++] = (byte) value;
        return this;
    }

    LeBytes u16(int value) {
        return u8(value).u8(value >>> 8);
    }

    LeBytes u32(long value) {
        return u16((int) value).u16((int) (value >>> 16));
    }

    LeBytes u64(long value) {
        return u32(value).u32(value >>> 32);
    }

    LeBytes bytes(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, size, bytes.length);
        size += bytes.length;
        return this;
    }

    /** {@code text} as exactly {@code width} ASCII bytes, padded with spaces (OEM IDs are). */
    LeBytes ascii(String text, int width) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        if (b.length > width || !text.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
            throw new IllegalArgumentException("\"" + text + "\" is not printable ASCII of at most " + width + " characters");
        }
        bytes(b);
        for (int i = b.length; i < width; i++) {
            u8(' ');
        }
        return this;
    }

    LeBytes zeros(int count) {
        ensure(count);
        size += count; // the array is zero-filled and never reused below size
        return this;
    }

    void putU8At(int offset, int value) {
        buf[offset] = (byte) value;
    }

    void putU32At(int offset, long value) {
        for (int i = 0; i < 4; i++) {
            buf[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    byte[] toArray() {
        return Arrays.copyOf(buf, size);
    }

    private void ensure(int more) {
        if (size + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
        }
    }
}
