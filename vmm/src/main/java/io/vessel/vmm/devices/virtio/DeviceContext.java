package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * What an activated device may use: guest memory, the negotiated features, its queues, and the
 * two ways to reach the driver (a used-buffer interrupt, or DEVICE_NEEDS_RESET). A context is
 * valid from DRIVER_OK until the next reset or needs-reset; after that its signals do nothing.
 */
public final class DeviceContext {
    private final GuestMemory memory;
    private final long features;
    private final List<Virtqueue> queues;
    private final IntConsumer usedSignal;
    private final Consumer<String> resetSignal;
    private volatile boolean valid = true;

    DeviceContext(GuestMemory memory, long features, List<Virtqueue> queues, IntConsumer usedSignal,
                  Consumer<String> resetSignal) {
        this.memory = memory;
        this.features = features;
        this.queues = List.copyOf(queues);
        this.usedSignal = usedSignal;
        this.resetSignal = resetSignal;
    }

    public GuestMemory memory() {
        return memory;
    }

    public long features() {
        return features;
    }

    public boolean hasFeature(int bit) {
        return Features.has(features, bit);
    }

    public int queueCount() {
        return queues.size();
    }

    /** Queue {@code index}; check {@link Virtqueue#isReady()} before use. */
    public Virtqueue queue(int index) {
        return queues.get(index);
    }

    /**
     * Fails activation unless each queue named is ready: {@code names[i]} is queue {@code i}'s name
     * in {@code device}'s terms (a driver may set DRIVER_OK with a queue it never set up).
     */
    public void requireReady(String device, String... names) throws VirtioException {
        for (int q = 0; q < names.length; q++) {
            if (!queue(q).isReady()) {
                throw new VirtioException(device + " " + names[q] + " queue " + q + " is not ready at DRIVER_OK");
            }
        }
    }

    /** Whether the device may still use this context (no reset or needs-reset since activation). */
    public boolean isValid() {
        return valid;
    }

    void invalidate() {
        valid = false;
    }

    /** Interrupts the driver for used buffers in queue {@code index}. */
    public void signalUsed(int index) {
        if (valid) {
            usedSignal.accept(index);
        }
    }

    /**
     * The driver broke the protocol: the device stops using this context and the transport sets
     * DEVICE_NEEDS_RESET and raises a configuration-change interrupt.
     */
    public void needsReset(String reason) {
        if (valid) {
            valid = false;
            resetSignal.accept(reason);
        }
    }
}
