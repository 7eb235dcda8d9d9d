package io.vessel.vmm.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct kvm_segment}: a segment register's hidden part, as the CPU caches it from a
 * descriptor (Intel SDM vol. 3, 3.4.5). {@link #fromDescriptor} derives it from a GDT entry so
 * the two never disagree.
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
                      boolean s, boolean l, boolean g, boolean avl, boolean unusable) {
    static final int SIZE = 24;

    /** The cached form of GDT descriptor {@code descriptor} loaded through {@code selector}. */
    public static Segment fromDescriptor(int selector, long descriptor) {
        long base = ((descriptor >>> 16) & 0xFF_FFFFL) | (((descriptor >>> 56) & 0xFF) << 24);
        int limitRaw = (int) ((descriptor & 0xFFFF) | (((descriptor >>> 48) & 0xF) << 16));
        boolean g = ((descriptor >>> 55) & 1) != 0;
        int limit = g ? (limitRaw << 12) | 0xFFF : limitRaw;
        return new Segment(base, limit, selector, (int) ((descriptor >>> 40) & 0xF), ((descriptor >>> 47) & 1) != 0,
                (int) ((descriptor >>> 45) & 3), ((descriptor >>> 54) & 1) != 0, ((descriptor >>> 44) & 1) != 0,
                ((descriptor >>> 53) & 1) != 0, g, ((descriptor >>> 52) & 1) != 0, ((descriptor >>> 47) & 1) == 0);
    }

    static Segment read(MemorySegment m, long o) {
        return new Segment(m.get(ValueLayout.JAVA_LONG, o), m.get(ValueLayout.JAVA_INT, o + 8),
                Short.toUnsignedInt(m.get(ValueLayout.JAVA_SHORT, o + 12)), b(m, o + 14), b(m, o + 15) != 0,
                b(m, o + 16), b(m, o + 17) != 0, b(m, o + 18) != 0, b(m, o + 19) != 0, b(m, o + 20) != 0,
                b(m, o + 21) != 0, b(m, o + 22) != 0);
    }

    void write(MemorySegment m, long o) {
        m.set(ValueLayout.JAVA_LONG, o, base);
        m.set(ValueLayout.JAVA_INT, o + 8, limit);
        m.set(ValueLayout.JAVA_SHORT, o + 12, (short) selector);
        byte[] flags = {(byte) type, bit(present), (byte) dpl, bit(db), bit(s), bit(l), bit(g), bit(avl), bit(unusable), 0};
        for (int i = 0; i < flags.length; i++) {
            m.set(ValueLayout.JAVA_BYTE, o + 14 + i, flags[i]);
        }
    }

    private static int b(MemorySegment m, long o) {
        return Byte.toUnsignedInt(m.get(ValueLayout.JAVA_BYTE, o));
    }

    private static byte bit(boolean b) {
        return (byte) (b ? 1 : 0);
    }
}
