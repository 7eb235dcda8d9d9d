package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.devices.MmioDevice;
import io.vessel.vmm.memory.GuestMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2), modern devices only: the register
 * window through which a driver discovers a {@link VirtioDevice}, negotiates features, sets up
 * its queues and drives the status sequence ACKNOWLEDGE → DRIVER → FEATURES_OK → DRIVER_OK.
 *
 * <p>Each write is checked against where the driver is in that sequence; out-of-order writes are
 * ignored, as the spec lets a device do. FEATURES_OK is refused (it does not stick, which the
 * driver sees on reading Status back) unless the driver accepted VIRTIO_F_VERSION_1 and nothing
 * the device did not offer. A queue made ready with a bad size or bad addresses, and any later
 * protocol error the device finds, set DEVICE_NEEDS_RESET and raise a configuration-change
 * interrupt. No guest value makes a method here throw.
 *
 * <p>Notifications arrive by {@link #notifyQueue} (from a QueueNotify write, or from the VMM's
 * ioeventfd on {@link #QUEUE_NOTIFY}), except for a device that waits on its own ioeventfd
 * ({@link VirtioDevice#notificationFd}); interrupts leave through {@link Interrupt}.
 */
public final class MmioTransport implements MmioDevice, QueueNotifier {
    /** Size of the register window the VMM maps for one device (one page, as Firecracker uses). */
    public static final long WINDOW_SIZE = 0x1000;

    // Register offsets, virtio 1.2 table 4.1 "MMIO Device Register Layout".
    public static final int MAGIC_VALUE = 0x000;
    public static final int VERSION = 0x004;
    public static final int DEVICE_ID = 0x008;
    public static final int VENDOR_ID = 0x00c;
    public static final int DEVICE_FEATURES = 0x010;
    public static final int DEVICE_FEATURES_SEL = 0x014;
    public static final int DRIVER_FEATURES = 0x020;
    public static final int DRIVER_FEATURES_SEL = 0x024;
    public static final int QUEUE_SEL = 0x030;
    public static final int QUEUE_NUM_MAX = 0x034;
    public static final int QUEUE_NUM = 0x038;
    public static final int QUEUE_READY = 0x044;
    public static final int QUEUE_NOTIFY = 0x050;
    public static final int INTERRUPT_STATUS = 0x060;
    public static final int INTERRUPT_ACK = 0x064;
    public static final int STATUS = 0x070;
    public static final int QUEUE_DESC_LOW = 0x080;
    public static final int QUEUE_DESC_HIGH = 0x084;
    public static final int QUEUE_DRIVER_LOW = 0x090;
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    public static final int CONFIG_GENERATION = 0x0fc;
    public static final int CONFIG = 0x100;

    /** "virt" in little-endian ASCII. */
    public static final int MAGIC = 0x74726976;
    /** The non-legacy register layout. */
    public static final int MMIO_VERSION = 2;
    /** "VSSL" in little-endian ASCII: the vendor the driver sees. */
    public static final int VENDOR = 0x4c535356;

    /** InterruptStatus bits (4.2.2): a queue has used buffers; the configuration changed. */
    public static final int INT_USED_BUFFER = 1;
    public static final int INT_CONFIG_CHANGE = 2;

    private static final int DRIVER_STATUS_BITS = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER
            | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK | DeviceStatus.FAILED;

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final Interrupt interrupt;
    private final long offeredFeatures;
    private final List<Virtqueue> queues = new ArrayList<>();
    private final AtomicInteger interruptStatus = new AtomicInteger();

    private int status;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private final AtomicInteger configGeneration = new AtomicInteger();
    private volatile DeviceContext context;
    private volatile String needsReset;

    /** {@code device} offered over MMIO, with indirect descriptors and event index. */
    public MmioTransport(VirtioDevice device, GuestMemory memory, Interrupt interrupt) {
        this(device, memory, interrupt, Features.bit(Features.INDIRECT_DESC) | Features.bit(Features.EVENT_IDX));
    }

    /** {@code device} offered over MMIO with the given ring features (a subset of INDIRECT_DESC, EVENT_IDX). */
    public MmioTransport(VirtioDevice device, GuestMemory memory, Interrupt interrupt, long ringFeatures) {
        this.device = device;
        this.memory = memory;
        this.interrupt = interrupt;
        long ring = ringFeatures & (Features.bit(Features.INDIRECT_DESC) | Features.bit(Features.EVENT_IDX));
        this.offeredFeatures = device.features() | ring | Features.bit(Features.VERSION_1);
        for (int max : device.queueMaxSizes()) {
            queues.add(new Virtqueue(max));
        }
    }

    public VirtioDevice device() {
        return device;
    }

    /** The status register as the driver reads it. */
    public synchronized int status() {
        return status | (needsReset != null ? DeviceStatus.DEVICE_NEEDS_RESET : 0);
    }

    /** Why the device set DEVICE_NEEDS_RESET, if it did. */
    public Optional<String> needsResetReason() {
        return Optional.ofNullable(needsReset);
    }

    /** The features both sides agreed on (valid once FEATURES_OK stuck). */
    public synchronized long negotiatedFeatures() {
        return (status & DeviceStatus.FEATURES_OK) != 0 ? driverFeatures : 0;
    }

    @Override
    public void read(long offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0);
        if (offset >= CONFIG) {
            try {
                device.readConfig(offset - CONFIG, data);
            } catch (RuntimeException e) {
                java.util.Arrays.fill(data, (byte) 0);
                deviceFailed("reading configuration at " + (offset - CONFIG), e);
            }
            return;
        }
        if (data.length != 4 || offset < 0 || (offset & 3) != 0) {
            return; // registers are 32-bit, aligned (4.2.2.2); anything else reads as zero
        }
        int value = register((int) offset);
        for (int i = 0; i < 4; i++) {
            data[i] = (byte) (value >>> (8 * i));
        }
    }

    private synchronized int register(int offset) {
        Virtqueue q = selectedQueue();
        return switch (offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> MMIO_VERSION;
            case DEVICE_ID -> device.deviceType();
            case VENDOR_ID -> VENDOR;
            case DEVICE_FEATURES -> switch (deviceFeaturesSel) {
                case 0 -> (int) offeredFeatures;
                case 1 -> (int) (offeredFeatures >>> 32);
                default -> 0;
            };
            case QUEUE_NUM_MAX -> q == null ? 0 : q.maxSize();
            case QUEUE_READY -> q != null && q.isReady() ? 1 : 0;
            case INTERRUPT_STATUS -> interruptStatus.get();
            case STATUS -> status();
            case CONFIG_GENERATION -> configGeneration.get();
            default -> 0;
        };
    }

    @Override
    public void write(long offset, byte[] data) {
        if (offset >= CONFIG) {
            try {
                device.writeConfig(offset - CONFIG, data.clone());
            } catch (RuntimeException e) {
                deviceFailed("writing configuration at " + (offset - CONFIG), e);
            }
            return;
        }
        if (data.length != 4 || offset < 0 || (offset & 3) != 0) {
            return;
        }
        int value = (data[0] & 0xFF) | (data[1] & 0xFF) << 8 | (data[2] & 0xFF) << 16 | (data[3] & 0xFF) << 24;
        if (offset == QUEUE_NOTIFY) {
            notifyQueue(value);
            return;
        }
        setRegister((int) offset, value);
    }

    private synchronized void setRegister(int offset, int value) {
        switch (offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = value;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = value;
            case DRIVER_FEATURES -> {
                if ((status & DeviceStatus.DRIVER) != 0 && (status & DeviceStatus.FEATURES_OK) == 0) {
                    long v = Integer.toUnsignedLong(value);
                    switch (driverFeaturesSel) {
                        case 0 -> driverFeatures = (driverFeatures & 0xFFFF_FFFF_0000_0000L) | v;
                        case 1 -> driverFeatures = (driverFeatures & 0xFFFF_FFFFL) | v << 32;
                        default -> {
                            if (value != 0) {
                                driverFeatures |= Long.MIN_VALUE; // bits beyond 64: never offered, so refused at FEATURES_OK
                            }
                        }
                    }
                }
            }
            case QUEUE_SEL -> queueSel = value;
            case QUEUE_NUM -> {
                Virtqueue q = configurableQueue();
                if (q != null) {
                    q.setSize(value);
                }
            }
            case QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW,
                 QUEUE_DEVICE_HIGH -> setQueueAddress(offset, value);
            case QUEUE_READY -> {
                Virtqueue q = configurableQueue();
                if (q != null && value == 1) {
                    try {
                        q.activate(memory, driverFeatures);
                    } catch (VirtioException e) {
                        flagNeedsReset("queue " + queueSel + ": " + e.getMessage());
                    }
                }
            }
            case INTERRUPT_ACK -> interruptStatus.getAndUpdate(s -> s & ~value);
            case STATUS -> writeStatus(value);
            default -> {
                // read-only or unknown register: ignored
            }
        }
    }

    private void setQueueAddress(int offset, int value) {
        Virtqueue q = configurableQueue();
        if (q == null) {
            return;
        }
        long v = Integer.toUnsignedLong(value);
        switch (offset) {
            case QUEUE_DESC_LOW -> q.setDescTable((q.descTable() & ~0xFFFF_FFFFL) | v);
            case QUEUE_DESC_HIGH -> q.setDescTable((q.descTable() & 0xFFFF_FFFFL) | v << 32);
            case QUEUE_DRIVER_LOW -> q.setAvailRing((q.availRing() & ~0xFFFF_FFFFL) | v);
            case QUEUE_DRIVER_HIGH -> q.setAvailRing((q.availRing() & 0xFFFF_FFFFL) | v << 32);
            case QUEUE_DEVICE_LOW -> q.setUsedRing((q.usedRing() & ~0xFFFF_FFFFL) | v);
            case QUEUE_DEVICE_HIGH -> q.setUsedRing((q.usedRing() & 0xFFFF_FFFFL) | v << 32);
            default -> throw new IllegalStateException("not a queue address register: " + offset);
        }
    }

    private Virtqueue selectedQueue() {
        return queueSel >= 0 && queueSel < queues.size() ? queues.get(queueSel) : null;
    }

    /** The selected queue if the driver may configure it now: after FEATURES_OK, before DRIVER_OK, not ready. */
    private Virtqueue configurableQueue() {
        Virtqueue q = selectedQueue();
        boolean phase = (status & DeviceStatus.FEATURES_OK) != 0 && (status & DeviceStatus.DRIVER_OK) == 0
                && needsReset == null;
        return q != null && phase && !q.isReady() ? q : null;
    }

    private void writeStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        int requested = value & DRIVER_STATUS_BITS;
        if ((status & ~requested) != 0) {
            return; // only a reset clears bits
        }
        if ((requested & DeviceStatus.FAILED) != 0) {
            status |= DeviceStatus.FAILED;
            stopDevice();
        }
        int next = status;
        if ((requested & DeviceStatus.ACKNOWLEDGE) != 0) {
            next |= DeviceStatus.ACKNOWLEDGE;
        }
        if ((requested & DeviceStatus.DRIVER) != 0) {
            if ((next & DeviceStatus.ACKNOWLEDGE) == 0) {
                return;
            }
            next |= DeviceStatus.DRIVER;
        }
        if ((requested & DeviceStatus.FEATURES_OK) != 0 && (next & DeviceStatus.FEATURES_OK) == 0) {
            if ((next & DeviceStatus.DRIVER) == 0 || !featuresAcceptable()) {
                status = next;
                return;
            }
            next |= DeviceStatus.FEATURES_OK;
        }
        if ((requested & DeviceStatus.DRIVER_OK) != 0 && (next & DeviceStatus.DRIVER_OK) == 0) {
            if ((next & DeviceStatus.FEATURES_OK) == 0) {
                status = next;
                return;
            }
            next |= DeviceStatus.DRIVER_OK;
            status = next;
            activateDevice();
            return;
        }
        status = next;
    }

    private boolean featuresAcceptable() {
        return Features.has(driverFeatures, Features.VERSION_1) && (driverFeatures & ~offeredFeatures) == 0;
    }

    private void activateDevice() {
        if (needsReset != null || (status & DeviceStatus.FAILED) != 0) {
            return;
        }
        DeviceContext ctx = new DeviceContext(memory, driverFeatures, queues, this::signalUsed, this::flagNeedsReset);
        context = ctx;
        try {
            device.activate(ctx);
        } catch (VirtioException e) {
            ctx.needsReset("activation: " + e.getMessage());
        } catch (RuntimeException e) {
            deviceFailed("activation", e);
        }
    }

    private void stopDevice() {
        DeviceContext ctx = context;
        context = null;
        if (ctx != null) {
            ctx.invalidate();
            device.reset();
        }
    }

    private void reset() {
        stopDevice();
        device.reset();
        for (Virtqueue q : queues) {
            q.reset();
        }
        status = 0;
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        queueSel = 0;
        needsReset = null;
        interruptStatus.set(0);
    }

    /**
     * The driver says queue {@code index} has new buffers. Ignored unless the device is live and
     * the queue ready; runs the device's processing on the caller's thread.
     */
    @Override
    public void notifyQueue(int index) {
        DeviceContext ctx = context;
        if (ctx == null || !ctx.isValid() || index < 0 || index >= queues.size() || !queues.get(index).isReady()) {
            return;
        }
        try {
            device.queueNotified(index);
        } catch (RuntimeException e) {
            deviceFailed("queue " + index, e);
        }
    }

    /** The device's configuration changed: bump ConfigGeneration and tell the driver. */
    public void configChanged() {
        configGeneration.incrementAndGet();
        interruptStatus.getAndUpdate(s -> s | INT_CONFIG_CHANGE);
        interrupt.trigger();
    }

    private void signalUsed(int queueIndex) {
        interruptStatus.getAndUpdate(s -> s | INT_USED_BUFFER);
        interrupt.trigger();
    }

    private void flagNeedsReset(String reason) {
        if (needsReset != null) {
            return;
        }
        needsReset = reason;
        DeviceContext ctx = context;
        if (ctx != null) {
            ctx.invalidate();
        }
        interruptStatus.getAndUpdate(s -> s | INT_CONFIG_CHANGE);
        interrupt.trigger();
    }

    private void deviceFailed(String where, RuntimeException e) {
        flagNeedsReset("device error in " + where + ": " + e);
    }
}
