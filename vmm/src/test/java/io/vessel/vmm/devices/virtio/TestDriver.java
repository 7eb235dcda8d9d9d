package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The guest side for tests: what Linux's virtio_mmio and virtio_ring do, done against the
 * transport's registers and guest memory. Negotiates features, lays out split queues, posts
 * chains (direct or through an indirect table), kicks only when the device asks for it
 * (NO_NOTIFY or avail_event), and collects used buffers.
 */
final class TestDriver {
    record Buf(long address, int length) {
    }

    record Used(int id, int length) {
    }

    final MmioTransport transport;
    final GuestMemory memory;
    final AtomicInteger interrupts;
    private long nextFree;

    TestDriver(MmioTransport transport, GuestMemory memory, AtomicInteger interrupts, long heapStart) {
        this.transport = transport;
        this.memory = memory;
        this.interrupts = interrupts;
        this.nextFree = heapStart;
    }

    int reg(int offset) {
        byte[] b = new byte[4];
        transport.read(offset, b);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    void setReg(int offset, int value) {
        transport.write(offset, new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16),
                (byte) (value >>> 24)});
    }

    long deviceFeatures() {
        setReg(MmioTransport.DEVICE_FEATURES_SEL, 0);
        long low = Integer.toUnsignedLong(reg(MmioTransport.DEVICE_FEATURES));
        setReg(MmioTransport.DEVICE_FEATURES_SEL, 1);
        long high = Integer.toUnsignedLong(reg(MmioTransport.DEVICE_FEATURES));
        return low | high << 32;
    }

    /** Reset, ACKNOWLEDGE, DRIVER, features; returns whether FEATURES_OK stuck. */
    boolean negotiate(long accepted) {
        setReg(MmioTransport.STATUS, 0);
        setReg(MmioTransport.STATUS, DeviceStatus.ACKNOWLEDGE);
        setReg(MmioTransport.STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        setReg(MmioTransport.DRIVER_FEATURES_SEL, 0);
        setReg(MmioTransport.DRIVER_FEATURES, (int) accepted);
        setReg(MmioTransport.DRIVER_FEATURES_SEL, 1);
        setReg(MmioTransport.DRIVER_FEATURES, (int) (accepted >>> 32));
        setReg(MmioTransport.STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        return (reg(MmioTransport.STATUS) & DeviceStatus.FEATURES_OK) != 0;
    }

    void driverOk() {
        setReg(MmioTransport.STATUS, reg(MmioTransport.STATUS) | DeviceStatus.DRIVER_OK);
    }

    long alloc(long length, long alignment) {
        long at = (nextFree + alignment - 1) & -alignment;
        nextFree = at + length;
        if (!memory.isRam(at, length)) {
            throw new IllegalStateException("test heap exhausted");
        }
        return at;
    }

    Queue queue(int index, int size, long features) {
        long desc = alloc(16L * size, 4096);
        long avail = alloc(6 + 2L * size, 2);
        long used = alloc(6 + 8L * size, 4096);
        setReg(MmioTransport.QUEUE_SEL, index);
        setReg(MmioTransport.QUEUE_NUM, size);
        setReg(MmioTransport.QUEUE_DESC_LOW, (int) desc);
        setReg(MmioTransport.QUEUE_DESC_HIGH, (int) (desc >>> 32));
        setReg(MmioTransport.QUEUE_DRIVER_LOW, (int) avail);
        setReg(MmioTransport.QUEUE_DRIVER_HIGH, (int) (avail >>> 32));
        setReg(MmioTransport.QUEUE_DEVICE_LOW, (int) used);
        setReg(MmioTransport.QUEUE_DEVICE_HIGH, (int) (used >>> 32));
        setReg(MmioTransport.QUEUE_READY, 1);
        return new Queue(index, size, desc, avail, used, Features.has(features, Features.EVENT_IDX));
    }

    /** One split queue as the driver keeps it. */
    final class Queue {
        final int index;
        final int size;
        final long desc;
        final long avail;
        final long used;
        final boolean eventIdx;
        private final Deque<Integer> free = new ArrayDeque<>();
        private final Map<Integer, List<Integer>> chains = new HashMap<>();
        private int availIdx;
        private int kickedIdx;
        private int lastUsed;
        int notifications;

        Queue(int index, int size, long desc, long avail, long used, boolean eventIdx) {
            this.index = index;
            this.size = size;
            this.desc = desc;
            this.avail = avail;
            this.used = used;
            this.eventIdx = eventIdx;
            for (int i = 0; i < size; i++) {
                free.add(i);
            }
        }

        int freeCount() {
            return free.size();
        }

        void writeDescriptor(long table, int i, long addr, int len, int flags, int next) {
            long at = table + 16L * i;
            memory.writeU64(at, addr);
            memory.writeU32(at + 8, len);
            memory.writeU16(at + 12, flags);
            memory.writeU16(at + 14, next);
        }

        /** Posts a chain: {@code out} device-readable then {@code in} device-writable; returns the head. */
        int post(List<Buf> out, List<Buf> in, boolean indirect) {
            List<Buf> all = new ArrayList<>(out);
            all.addAll(in);
            List<Integer> used = new ArrayList<>();
            int head;
            if (indirect) {
                long table = alloc(16L * all.size(), 16);
                for (int i = 0; i < all.size(); i++) {
                    int flags = (i < out.size() ? 0 : Descriptor.F_WRITE) | (i + 1 < all.size() ? Descriptor.F_NEXT : 0);
                    writeDescriptor(table, i, all.get(i).address(), all.get(i).length(), flags, i + 1);
                }
                head = free.pop();
                used.add(head);
                writeDescriptor(desc, head, table, 16 * all.size(), Descriptor.F_INDIRECT, 0);
            } else {
                if (free.size() < all.size()) {
                    throw new IllegalStateException("queue full");
                }
                List<Integer> ids = new ArrayList<>();
                for (int i = 0; i < all.size(); i++) {
                    ids.add(free.pop());
                }
                for (int i = 0; i < all.size(); i++) {
                    int flags = (i < out.size() ? 0 : Descriptor.F_WRITE) | (i + 1 < all.size() ? Descriptor.F_NEXT : 0);
                    writeDescriptor(desc, ids.get(i), all.get(i).address(), all.get(i).length(), flags,
                            i + 1 < all.size() ? ids.get(i + 1) : 0);
                }
                head = ids.get(0);
                used.addAll(ids);
            }
            chains.put(head, used);
            memory.writeU16(avail + 4 + 2L * (availIdx % size), head);
            availIdx = (availIdx + 1) & 0xFFFF;
            return head;
        }

        /** Publishes posted chains and notifies if the device asked for it; returns whether it notified. */
        boolean kick() {
            memory.writeU16(avail + 2, availIdx);
            boolean notify;
            if (eventIdx) {
                int availEvent = memory.readU16(used + 4 + 8L * size);
                notify = Virtqueue.needEvent(availEvent, availIdx, kickedIdx);
            } else {
                notify = (memory.readU16(used) & UsedRing.F_NO_NOTIFY) == 0;
            }
            kickedIdx = availIdx;
            if (notify) {
                notifications++;
                setReg(MmioTransport.QUEUE_NOTIFY, index);
            }
            return notify;
        }

        /** Takes the used entries the device returned since the last call, freeing their descriptors. */
        List<Used> collect() {
            List<Used> out = new ArrayList<>();
            int usedIdx = memory.readU16(used + 2);
            while (lastUsed != usedIdx) {
                long at = used + 4 + 8L * (lastUsed % size);
                Used u = new Used(memory.readU32(at), memory.readU32(at + 4));
                List<Integer> ids = chains.remove(u.id());
                if (ids == null) {
                    throw new AssertionError("device returned chain " + u.id() + " which is not in flight");
                }
                free.addAll(ids);
                out.add(u);
                lastUsed = (lastUsed + 1) & 0xFFFF;
            }
            if (eventIdx) {
                memory.writeU16(avail + 4 + 2L * size, lastUsed); // interrupt me for the next one
            }
            setReg(MmioTransport.INTERRUPT_ACK, reg(MmioTransport.INTERRUPT_STATUS));
            return out;
        }

        void suppressInterrupts(boolean suppress) {
            memory.writeU16(avail, suppress ? AvailableRing.F_NO_INTERRUPT : 0);
        }
    }
}
