package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One request: the chain of descriptors that starts at an available-ring head, with its
 * device-readable buffers (in order) followed by its device-writable ones. An indirect descriptor
 * is followed into its table. Parsing validates the whole chain before the device touches a byte:
 * every index inside its table, no loop (a bound on the number of descriptors), at most one level
 * of indirection and only when negotiated, no readable buffer after a writable one, every buffer
 * wholly inside guest RAM, and the byte count of each direction within {@link #MAX_BYTES}.
 */
public final class DescriptorChain {
    /** A bound on each direction's total, so that lengths fit in the used ring's le32 len and in Java ints. */
    public static final long MAX_BYTES = Integer.MAX_VALUE;

    /** A guest buffer: {@code length} bytes of RAM at guest-physical {@code address}. */
    public record Buffer(long address, int length) {
    }

    private final int head;
    private final List<Buffer> readable;
    private final List<Buffer> writable;
    private final long readableBytes;
    private final long writableBytes;

    private DescriptorChain(int head, List<Buffer> readable, List<Buffer> writable, long readableBytes,
                            long writableBytes) {
        this.head = head;
        this.readable = Collections.unmodifiableList(readable); // the parser's own lists: no copy needed
        this.writable = Collections.unmodifiableList(writable);
        this.readableBytes = readableBytes;
        this.writableBytes = writableBytes;
    }

    /**
     * Walks the chain from {@code head}.
     *
     * @param maxDescriptors the longest chain accepted, in the queue's table and again in an indirect table
     */
    public static DescriptorChain parse(GuestMemory memory, DescriptorTable table, int head, boolean indirectAllowed,
                                        int maxDescriptors) throws VirtioException {
        List<Buffer> readable = new ArrayList<>();
        List<Buffer> writable = new ArrayList<>();
        long readBytes = 0;
        long writeBytes = 0;
        DescriptorTable current = table;
        boolean indirect = false;
        int index = head;
        int visited = 0;
        while (true) {
            if (++visited > maxDescriptors) {
                throw new VirtioException("chain from head " + head + " is longer than " + maxDescriptors
                        + " descriptors (a loop?)");
            }
            int at = current.offsetOf(index);
            long address = current.address(at);
            long lengthFlagsNext = current.lengthFlagsNext(at);
            long len = lengthFlagsNext & 0xFFFF_FFFFL;
            int flags = (int) (lengthFlagsNext >>> 32) & 0xFFFF;
            if ((flags & Descriptor.F_INDIRECT) != 0) {
                if (!indirectAllowed) {
                    throw new VirtioException("descriptor " + index + " of chain " + head
                            + " is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated");
                }
                if (indirect) {
                    throw new VirtioException("chain " + head + ": an indirect table holds another indirect descriptor");
                }
                if ((flags & Descriptor.F_NEXT) != 0) {
                    throw new VirtioException("chain " + head + ": descriptor " + index + " has both INDIRECT and NEXT");
                }
                if (len == 0 || len % Descriptor.SIZE != 0 || len / Descriptor.SIZE > maxDescriptors) {
                    throw new VirtioException("chain " + head + ": indirect table length " + len
                            + " is not a multiple of 16 between 16 and " + (long) maxDescriptors * Descriptor.SIZE);
                }
                if (!memory.isRam(address, len)) {
                    throw new VirtioException("chain " + head + ": indirect table [0x" + Long.toHexString(address)
                            + ", +" + len + ") is not in guest RAM");
                }
                current = new DescriptorTable(memory, address, (int) (len / Descriptor.SIZE));
                indirect = true;
                index = 0;
                visited = 0;
                continue;
            }
            if (!memory.isRam(address, len)) {
                throw new VirtioException("chain " + head + ": buffer [0x" + Long.toHexString(address) + ", +" + len
                        + ") is not in guest RAM");
            }
            Buffer buffer = new Buffer(address, (int) Math.min(len, Integer.MAX_VALUE));
            if ((flags & Descriptor.F_WRITE) != 0) {
                writeBytes += len;
                writable.add(buffer);
            } else {
                if (!writable.isEmpty()) {
                    throw new VirtioException("chain " + head + ": a device-readable buffer follows a device-writable one");
                }
                readBytes += len;
                readable.add(buffer);
            }
            if (readBytes > MAX_BYTES || writeBytes > MAX_BYTES) {
                throw new VirtioException("chain " + head + " spans more than " + MAX_BYTES + " bytes in one direction");
            }
            if ((flags & Descriptor.F_NEXT) == 0) {
                return new DescriptorChain(head, readable, writable, readBytes, writeBytes);
            }
            index = (int) (lengthFlagsNext >>> 48);
        }
    }

    /** The head descriptor's index: the id the used ring gives back. */
    public int head() {
        return head;
    }

    public List<Buffer> readable() {
        return readable;
    }

    public List<Buffer> writable() {
        return writable;
    }

    public long readableBytes() {
        return readableBytes;
    }

    public long writableBytes() {
        return writableBytes;
    }

    /** A cursor over the device-readable bytes, in order. */
    public GuestBuffers reader(GuestMemory memory) {
        return new GuestBuffers(memory, readable, readableBytes);
    }

    /** A cursor over the first {@code limit} device-writable bytes, in order. */
    public GuestBuffers writer(GuestMemory memory, long limit) {
        return new GuestBuffers(memory, writable, Math.min(limit, writableBytes));
    }

    /** The guest-physical address of the last device-writable byte, or -1 if there is none. */
    public long lastWritableByte() {
        for (int i = writable.size() - 1; i >= 0; i--) {
            Buffer b = writable.get(i);
            if (b.length() > 0) {
                return b.address() + b.length() - 1;
            }
        }
        return -1;
    }
}
