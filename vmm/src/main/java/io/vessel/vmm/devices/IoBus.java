package io.vessel.vmm.devices;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Address ranges mapped to devices: the port I/O bus ({@code IoBus<PioDevice>}) and the MMIO bus
 * ({@code IoBus<MmioDevice>}). Ranges may not overlap; an access that hits no device is reported
 * as unhandled so the caller can decide (reads of nothing return all ones on a PC).
 */
public final class IoBus<D> {
    /** A device's window: {@code [base, base+length)}. */
    public record Range<D>(long base, long length, D device) {
        boolean contains(long address, int size) {
            return Long.compareUnsigned(address, base) >= 0 && Long.compareUnsigned(address - base, length) < 0
                    && Long.compareUnsigned(address - base + size, length) <= 0;
        }
    }

    private final ConcurrentSkipListMap<Long, Range<D>> ranges = new ConcurrentSkipListMap<>(Long::compareUnsigned);

    /** Adds {@code device} at {@code [base, base+length)}; fails naming the device already there. */
    public synchronized void register(long base, long length, D device) {
        if (length <= 0 || base + length < base && base + length != 0) {
            throw new IllegalArgumentException("bad window [0x" + Long.toHexString(base) + ", +" + length + ")");
        }
        for (Range<D> r : ranges.values()) {
            if (Long.compareUnsigned(base, r.base + r.length) < 0 && Long.compareUnsigned(r.base, base + length) < 0) {
                throw new IllegalArgumentException("window [0x" + Long.toHexString(base) + ", +" + length + ") overlaps "
                        + r.device + " at [0x" + Long.toHexString(r.base) + ", +" + r.length + ")");
            }
        }
        ranges.put(base, new Range<>(base, length, device));
    }

    public synchronized void unregister(long base) {
        ranges.remove(base);
    }

    /** The range wholly containing {@code [address, address+size)}, or null. */
    public Range<D> find(long address, int size) {
        Map.Entry<Long, Range<D>> e = ranges.floorEntry(address);
        return e != null && e.getValue().contains(address, size) ? e.getValue() : null;
    }
}
