package io.vessel.vmm.devices.virtio;

import io.vessel.linux.EventFd;

/**
 * A virtio device type (block, rng, net...), independent of the transport that carries it. The
 * transport negotiates features, collects the queue configuration and calls {@link #activate}
 * at DRIVER_OK; then each notification of a queue calls {@link #queueNotified}. Methods are
 * called from vCPU threads and the VMM's event loop; implementations serialise their own state.
 * None may throw: a driver error is reported through {@link DeviceContext#needsReset}.
 */
public interface VirtioDevice {
    /** The virtio device ID (virtio 1.2, 5: 1 net, 2 block, 4 entropy, 19 vsock). */
    int deviceType();

    /** The device-specific feature bits offered; the transport adds VERSION_1 and the ring features. */
    long features();

    /** The maximum size of each queue, one entry per queue. */
    int[] queueMaxSizes();

    /** Reads device configuration space at {@code offset}; bytes beyond it read as zero. */
    void readConfig(long offset, byte[] data);

    /** Writes device configuration space; writes to read-only fields are ignored. */
    void writeConfig(long offset, byte[] data);

    /** The driver set DRIVER_OK: start serving the ready queues through {@code context}. */
    void activate(DeviceContext context) throws VirtioException;

    /** The driver notified queue {@code index}: process what it made available. */
    void queueNotified(int index);

    /**
     * The eventfd on which this device waits for queue {@code index}'s notifications itself, which
     * the VM then registers as that queue's ioeventfd instead of calling {@link #queueNotified}
     * from its event loop; null (the default) for the event loop. The device owns it and closes it.
     */
    default EventFd notificationFd(int index) {
        return null;
    }

    /** Stop, drop the context and forget negotiated state (device reset by the driver). */
    void reset();
}
