package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A cursor over a chain's buffers in one direction, as if they were one byte stream: a device
 * reads a header, takes the next n bytes as host segments for zero-copy I/O, or writes a reply.
 * Each segment comes from {@link GuestMemory#slice}, so it cannot reach outside guest RAM.
 */
public final class GuestBuffers {
    private final GuestMemory memory;
    private final List<DescriptorChain.Buffer> buffers;
    private final long limit;
    private long position;
    private int buffer;
    private long offsetInBuffer;

    GuestBuffers(GuestMemory memory, List<DescriptorChain.Buffer> buffers, long limit) {
        this.memory = memory;
        this.buffers = buffers;
        this.limit = limit;
    }

    public long remaining() {
        return limit - position;
    }

    public long position() {
        return position;
    }

    /** The next {@code n} bytes as host segments (consumed); fewer bytes if fewer remain. */
    public List<MemorySegment> take(long n) {
        List<MemorySegment> out = new ArrayList<>();
        long want = Math.min(n, remaining());
        while (want > 0) {
            DescriptorChain.Buffer b = buffers.get(buffer);
            long available = b.length() - offsetInBuffer;
            if (available == 0) {
                buffer++;
                offsetInBuffer = 0;
                continue;
            }
            long part = Math.min(available, want);
            out.add(memory.slice(b.address() + offsetInBuffer, part));
            offsetInBuffer += part;
            position += part;
            want -= part;
        }
        return out;
    }

    /** Reads exactly {@code n} bytes, or returns null if fewer remain (nothing is consumed then). */
    public byte[] read(int n) {
        if (remaining() < n) {
            return null;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (MemorySegment s : take(n)) {
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, out, at, (int) s.byteSize());
            at += (int) s.byteSize();
        }
        return out;
    }

    /** Writes as much of {@code data} as fits; returns the count written. */
    public int write(byte[] data) {
        int at = 0;
        for (MemorySegment s : take(data.length)) {
            MemorySegment.copy(data, at, s, ValueLayout.JAVA_BYTE, 0, (int) s.byteSize());
            at += (int) s.byteSize();
        }
        return at;
    }
}
