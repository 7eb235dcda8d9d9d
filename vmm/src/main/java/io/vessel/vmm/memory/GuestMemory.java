package io.vessel.vmm.memory;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Mman;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A guest's RAM: anonymous host mappings laid out at guest-physical addresses, one KVM memory slot
 * each. On x86 the 32-bit MMIO hole ({@link #MMIO_HOLE_START} up to 4 GiB) is left out, so RAM
 * beyond it continues at 4 GiB.
 *
 * <p>Every access from a device goes through {@link #slice}, which checks that the whole range lies
 * inside one region: a guest value (a descriptor address, a length) can make an access fail with
 * {@link GuestMemoryException}, never reach host memory outside the guest's RAM. The mappings are
 * unmapped by {@link #close}; slices must not be used afterwards.
 */
public final class GuestMemory implements AutoCloseable {
    /** Start of the 32-bit MMIO hole: device windows (virtio-mmio, LAPIC, IOAPIC) live above it. */
    public static final long MMIO_HOLE_START = 0xC000_0000L;
    /** RAM that does not fit below the hole resumes here. */
    public static final long HIGH_RAM_START = 1L << 32;
    public static final long PAGE_SIZE = 4096;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final List<MemoryRegion> regions;
    /** The regions' guest start, size and host mapping, as arrays: {@link #find} runs for every device access. */
    private final long[] starts;
    private final long[] sizes;
    private final MemorySegment[] hosts;
    private volatile boolean closed;

    private GuestMemory(List<MemoryRegion> regions) {
        this.regions = List.copyOf(regions);
        int n = this.regions.size();
        this.starts = new long[n];
        this.sizes = new long[n];
        this.hosts = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            MemoryRegion r = this.regions.get(i);
            starts[i] = r.start().value();
            sizes[i] = r.size();
            hosts[i] = r.host();
        }
    }

    /**
     * {@code bytes} of RAM for an x86-64 guest: from 0 up to the MMIO hole, the rest from 4 GiB.
     * The size must be a positive multiple of the page size.
     */
    public static GuestMemory x86(long bytes) throws ErrnoException {
        if (bytes <= 0 || bytes % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("guest memory must be a positive multiple of 4 KiB, not " + bytes + " bytes");
        }
        List<MemoryRegion> regions = new ArrayList<>();
        try {
            long low = Math.min(bytes, MMIO_HOLE_START);
            regions.add(new MemoryRegion(0, GuestAddress.of(0), Mman.anonymous(low)));
            if (bytes > low) {
                regions.add(new MemoryRegion(1, GuestAddress.of(HIGH_RAM_START), Mman.anonymous(bytes - low)));
            }
        } catch (ErrnoException | RuntimeException e) {
            for (MemoryRegion r : regions) {
                unmapQuietly(r.host());
            }
            throw e;
        }
        for (MemoryRegion r : regions) {
            adviseHugePages(r.host());
        }
        return new GuestMemory(regions);
    }

    /**
     * Asks for transparent huge pages on a RAM mapping (MADV_HUGEPAGE; this host's THP mode is
     * "madvise", as is common, so without the advice guest RAM stays in 4 KiB pages). Device
     * copies into guest RAM then run over 2 MiB pages: the test guest's virtio-blk benchmark
     * (64 MiB in 512 KiB reads) went from a median of ~265 to ~190 ms here, for ~1.7 MB more peak
     * RSS on the boot run (the guest's scattered first touches fill whole huge pages). QEMU
     * advises its guest RAM the same way. A kernel without THP refuses the advice (EINVAL); RAM
     * then simply keeps small pages, so the refusal is not an error.
     */
    private static void adviseHugePages(MemorySegment mapping) {
        try {
            Mman.madvise(mapping, Mman.MADV_HUGEPAGE);
        } catch (ErrnoException e) {
            // no THP in this kernel: small pages, slower copies, nothing else changes
        }
    }

    public List<MemoryRegion> regions() {
        return regions;
    }

    /** Total RAM in bytes. */
    public long size() {
        long total = 0;
        for (MemoryRegion r : regions) {
            total += r.size();
        }
        return total;
    }

    /** Whether {@code [gpa, gpa+length)} is RAM, inside one region. */
    public boolean isRam(long gpa, long length) {
        return find(gpa, length) >= 0;
    }

    /**
     * The host memory behind {@code [gpa, gpa+length)}.
     *
     * @throws GuestMemoryException if the range is not wholly inside one RAM region
     */
    public MemorySegment slice(long gpa, long length) {
        int r = find(gpa, length);
        if (r < 0) {
            throw new GuestMemoryException("guest range [0x" + Long.toHexString(gpa) + ", +" + length + ") is not in guest RAM");
        }
        return hosts[r].asSlice(gpa - starts[r], length);
    }

    public MemorySegment slice(GuestAddress gpa, long length) {
        return slice(gpa.value(), length);
    }

    public int readU8(long gpa) {
        return Byte.toUnsignedInt(slice(gpa, 1).get(ValueLayout.JAVA_BYTE, 0));
    }

    public int readU16(long gpa) {
        return Short.toUnsignedInt(slice(gpa, 2).get(U16, 0));
    }

    public int readU32(long gpa) {
        return slice(gpa, 4).get(U32, 0);
    }

    public long readU64(long gpa) {
        return slice(gpa, 8).get(U64, 0);
    }

    public void writeU8(long gpa, int value) {
        slice(gpa, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) value);
    }

    public void writeU16(long gpa, int value) {
        slice(gpa, 2).set(U16, 0, (short) value);
    }

    public void writeU32(long gpa, int value) {
        slice(gpa, 4).set(U32, 0, value);
    }

    public void writeU64(long gpa, long value) {
        slice(gpa, 8).set(U64, 0, value);
    }

    /** Copies {@code bytes} into guest memory at {@code gpa}. */
    public void write(long gpa, byte[] bytes) {
        MemorySegment.copy(bytes, 0, slice(gpa, bytes.length), ValueLayout.JAVA_BYTE, 0, bytes.length);
    }

    /** Reads {@code length} bytes of guest memory at {@code gpa}. */
    public byte[] read(long gpa, int length) {
        return slice(gpa, length).toArray(ValueLayout.JAVA_BYTE);
    }

    /** The index of the region holding all of {@code [gpa, gpa+length)}, or -1 (the same test as {@link MemoryRegion#contains}). */
    private int find(long gpa, long length) {
        if (closed) {
            throw new IllegalStateException("guest memory is closed");
        }
        if (length < 0) {
            return -1;
        }
        for (int i = 0; i < starts.length; i++) {
            long offset = gpa - starts[i];
            if (Long.compareUnsigned(gpa, starts[i]) >= 0 && Long.compareUnsigned(offset, sizes[i]) <= 0
                    && Long.compareUnsigned(length, sizes[i] - offset) <= 0) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (MemoryRegion r : regions) {
            unmapQuietly(r.host());
        }
    }

    private static void unmapQuietly(MemorySegment mapping) {
        try {
            Mman.munmap(mapping);
        } catch (ErrnoException ignored) {
            // Nothing to do: the mapping goes when the process does.
        }
    }
}
