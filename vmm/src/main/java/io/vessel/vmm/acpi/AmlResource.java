package io.vessel.vmm.acpi;

import java.util.List;

/**
 * A resource descriptor inside a {@link Aml#resources ResourceTemplate} (ACPI 6.5, section 6.4):
 * how a device's {@code _CRS} tells the OS which I/O ports, memory window and interrupts it uses.
 */
public sealed interface AmlResource {
    void encode(LeBytes out);

    /** {@code IO(Decode16, min, max, alignment, length)}. */
    static AmlResource io(int min, int max, int alignment, int length) {
        return new IoPort(min, max, alignment, length);
    }

    /** {@code Memory32Fixed(ReadWrite, base, length)}. */
    static AmlResource memory32Fixed(long base, long length) {
        return new Memory32Fixed(true, base, length);
    }

    /** {@code Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow, Exclusive) { gsi }}. */
    static AmlResource interrupt(Trigger trigger, Polarity polarity, int gsi) {
        return new ExtendedInterrupt(trigger, polarity, false, List.of(gsi));
    }

    enum Trigger { EDGE, LEVEL }

    enum Polarity { ACTIVE_HIGH, ACTIVE_LOW }

    /**
     * I/O Port Descriptor, small item 0x08 with 7 bytes (tag byte 0x47): information (bit 0:
     * decodes 16 address bits), range minimum and maximum base, alignment, length.
     */
    record IoPort(int min, int max, int alignment, int length) implements AmlResource {
        static final int TAG = 0x47;
        static final int DECODE_16 = 1;

        public IoPort {
            if (min < 0 || min > 0xFFFF || max < min || max > 0xFFFF) {
                throw new IllegalArgumentException("IO descriptor: port range 0x" + Integer.toHexString(min) + "-0x"
                        + Integer.toHexString(max) + " must be ordered 16-bit ports");
            }
            if (alignment < 0 || alignment > 0xFF || length < 0 || length > 0xFF) {
                throw new IllegalArgumentException("IO descriptor: alignment " + alignment + " and length " + length
                        + " must fit in a byte");
            }
        }

        @Override
        public void encode(LeBytes out) {
            out.u8(TAG).u8(DECODE_16).u16(min).u16(max).u8(alignment).u8(length);
        }
    }

    /**
     * 32-bit Fixed Memory Range Descriptor, large item 0x06 (tag byte 0x86) with 9 bytes:
     * information (bit 0: read-write), base, length.
     */
    record Memory32Fixed(boolean readWrite, long base, long length) implements AmlResource {
        static final int TAG = 0x86;
        static final int BODY_LENGTH = 9;

        public Memory32Fixed {
            if (base < 0 || length < 0 || base + length > 1L << 32) {
                throw new IllegalArgumentException("Memory32Fixed: window 0x" + Long.toHexString(base) + " + 0x"
                        + Long.toHexString(length) + " must lie below 4 GiB");
            }
        }

        @Override
        public void encode(LeBytes out) {
            out.u8(TAG).u16(BODY_LENGTH).u8(readWrite ? 1 : 0).u32(base).u32(length);
        }
    }

    /**
     * Extended Interrupt Descriptor, large item 0x09 (tag byte 0x89): flags (bit 0 consumer,
     * bit 1 edge, bit 2 active low, bit 3 shared), the count, then 32-bit interrupt numbers (GSIs).
     */
    record ExtendedInterrupt(Trigger trigger, Polarity polarity, boolean shared, List<Integer> gsis) implements AmlResource {
        static final int TAG = 0x89;
        static final int CONSUMER = 1;
        static final int EDGE = 1 << 1;
        static final int ACTIVE_LOW = 1 << 2;
        static final int SHARED = 1 << 3;

        public ExtendedInterrupt {
            gsis = List.copyOf(gsis);
            if (gsis.isEmpty() || gsis.size() > 0xFF) {
                throw new IllegalArgumentException("Interrupt descriptor: needs 1 to 255 interrupts, not " + gsis.size());
            }
            for (int g : gsis) {
                if (g < 0) {
                    throw new IllegalArgumentException("Interrupt descriptor: interrupt " + g + " is negative");
                }
            }
        }

        @Override
        public void encode(LeBytes out) {
            int flags = CONSUMER | (trigger == Trigger.EDGE ? EDGE : 0)
                    | (polarity == Polarity.ACTIVE_LOW ? ACTIVE_LOW : 0) | (shared ? SHARED : 0);
            out.u8(TAG).u16(2 + 4 * gsis.size()).u8(flags).u8(gsis.size());
            for (int g : gsis) {
                out.u32(g);
            }
        }
    }
}
