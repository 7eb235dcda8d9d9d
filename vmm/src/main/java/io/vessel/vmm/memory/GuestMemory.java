package io.vessel.vmm.memory;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Mman;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

    private static final int VIEW_SHIFT = 30;
    private static final long VIEW_MASK = (1L << VIEW_SHIFT) - 1;
    /** The widest scalar access (readU64/writeU64). */
    private static final int VIEW_OVERLAP = 8;

    private final List<MemoryRegion> regions;
    /** The regions' guest start, size and host mapping, as arrays: {@link #find} runs for every device access. */
    private final long[] starts;
    private final long[] sizes;
    private final MemorySegment[] hosts;
    /**
     * Each region's host memory again as native-order byte buffers, one per 1 GiB
     * ({@link #VIEW_SHIFT}), each running {@link #VIEW_OVERLAP} bytes into the next so that any
     * scalar access falls inside the buffer of its first byte. The scalar accessors go through
     * them: in the VMM's interpreted JVM a buffer's absolute get or put costs several times less
     * than a memory segment's.
     */
    private final ByteBuffer[][] views;
    private volatile boolean closed;

    private GuestMemory(List<MemoryRegion> regions) {
        this.regions = List.copyOf(regions);
        int n = this.regions.size();
        this.starts = new long[n];
        this.sizes = new long[n];
        this.hosts = new MemorySegment[n];
        this.views = new ByteBuffer[n][];
        for (int i = 0; i < n; i++) {
            MemoryRegion r = this.regions.get(i);
            starts[i] = r.start().value();
            if ((starts[i] & VIEW_MASK) != 0) {
                throw new IllegalArgumentException("RAM region at 0x" + Long.toHexString(starts[i])
                        + " does not start on a 1 GiB boundary");
            }
            sizes[i] = r.size();
            hosts[i] = r.host();
            int chunks = (int) ((sizes[i] + VIEW_MASK) >>> VIEW_SHIFT);
            views[i] = new ByteBuffer[chunks];
            for (int c = 0; c < chunks; c++) {
                long from = (long) c << VIEW_SHIFT;
                long length = Math.min(sizes[i] - from, (1L << VIEW_SHIFT) + VIEW_OVERLAP);
                views[i][c] = hosts[i].asSlice(from, length).asByteBuffer().order(ByteOrder.nativeOrder());
            }
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

    /**
     * The host address of {@code [gpa, gpa+length)}, checked as {@link #slice} checks it, for
     * handing to the kernel (an iovec) without making a segment on a hot path. Valid until
     * {@link #close}.
     *
     * @throws GuestMemoryException if the range is not wholly inside one RAM region
     */
    public long hostAddress(long gpa, long length) {
        int r = find(gpa, length);
        if (r < 0) {
            throw new GuestMemoryException("guest range [0x" + Long.toHexString(gpa) + ", +" + length + ") is not in guest RAM");
        }
        return hosts[r].address() + (gpa - starts[r]);
    }

    public MemorySegment slice(GuestAddress gpa, long length) {
        return slice(gpa.value(), length);
    }

    /**
     * The buffer holding {@code [gpa, gpa+length)} ({@code length} at most 8), positioned by
     * {@link #viewOffset}.
     *
     * @throws GuestMemoryException if the range is not wholly inside one RAM region
     */
    private ByteBuffer view(long gpa, int length) {
        int r = find(gpa, length);
        if (r < 0) {
            throw new GuestMemoryException("guest range [0x" + Long.toHexString(gpa) + ", +" + length + ") is not in guest RAM");
        }
        return views[r][(int) ((gpa - starts[r]) >>> VIEW_SHIFT)];
    }

    /** Where {@code gpa} is in the buffer {@link #view} returned for it (regions start 1 GiB-aligned). */
    private static int viewOffset(long gpa) {
        return (int) (gpa & VIEW_MASK);
    }

    public int readU8(long gpa) {
        return Byte.toUnsignedInt(view(gpa, 1).get(viewOffset(gpa)));
    }

    public int readU16(long gpa) {
        return Short.toUnsignedInt(view(gpa, 2).getShort(viewOffset(gpa)));
    }

    public int readU32(long gpa) {
        return view(gpa, 4).getInt(viewOffset(gpa));
    }

    public long readU64(long gpa) {
        return view(gpa, 8).getLong(viewOffset(gpa));
    }

    public void writeU8(long gpa, int value) {
        view(gpa, 1).put(viewOffset(gpa), (byte) value);
    }

    public void writeU16(long gpa, int value) {
        view(gpa, 2).putShort(viewOffset(gpa), (short) value);
    }

    public void writeU32(long gpa, int value) {
        view(gpa, 4).putInt(viewOffset(gpa), value);
    }

    public void writeU64(long gpa, long value) {
        view(gpa, 8).putLong(viewOffset(gpa), value);
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
        // unsigned comparisons written out (x + MIN_VALUE orders as x unsigned): no call per test on a hot path
        for (int i = 0; i < starts.length; i++) {
            long offset = gpa - starts[i];
            long size = sizes[i];
            if (gpa + Long.MIN_VALUE >= starts[i] + Long.MIN_VALUE && offset + Long.MIN_VALUE <= size + Long.MIN_VALUE
                    && length + Long.MIN_VALUE <= size - offset + Long.MIN_VALUE) {
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
