package io.vessel.vmm.memory;

/**
 * A guest-physical address: what the guest writes into page tables, descriptors and device
 * registers. Kept apart from host addresses so the two are never mixed up; the VMM turns one into
 * host memory only through {@link GuestMemory}, which checks the range.
 */
public record GuestAddress(long value) implements Comparable<GuestAddress> {
    public static GuestAddress of(long value) {
        return new GuestAddress(value);
    }

    /** This address plus {@code offset}, refusing to wrap around the 64-bit space. */
    public GuestAddress plus(long offset) {
        return new GuestAddress(Math.addExact(value, offset));
    }

    public boolean isAligned(long alignment) {
        return (value & (alignment - 1)) == 0;
    }

    @Override
    public int compareTo(GuestAddress other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public String toString() {
        return "0x" + Long.toHexString(value);
    }
}
