package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemoryException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.SecureRandom;

/**
 * virtio-rng, the entropy device (virtio 1.2, 5.4): fills each request's device-writable buffers
 * with bytes from the host's CSPRNG. One queue, no features, no configuration. A request gets at
 * most {@link #MAX_REQUEST_BYTES}: Linux asks for a few dozen bytes at a time, and a hostile
 * driver cannot make the VMM generate gigabytes in one go.
 */
public final class RngDevice implements VirtioDevice {
    public static final int DEVICE_TYPE = 4;
    public static final int QUEUE_SIZE = 256;
    public static final int MAX_REQUEST_BYTES = 64 * 1024;

    private final SecureRandom random;
    private DeviceContext context;

    public RngDevice() {
        this(new SecureRandom());
    }

    public RngDevice(SecureRandom random) {
        this.random = random;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long features() {
        return 0;
    }

    @Override
    public int[] queueMaxSizes() {
        return new int[] {QUEUE_SIZE};
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0);
    }

    @Override
    public void writeConfig(long offset, byte[] data) {
        // no configuration space
    }

    @Override
    public synchronized void activate(DeviceContext context) throws VirtioException {
        context.requireReady("virtio-rng", "request");
        this.context = context;
    }

    @Override
    public synchronized void reset() {
        context = null;
    }

    @Override
    public synchronized void queueNotified(int index) {
        DeviceContext ctx = context;
        if (ctx == null || !ctx.isValid()) {
            return;
        }
        Virtqueue queue = ctx.queue(0);
        boolean completed = false;
        try {
            do {
                queue.disableNotification();
                DescriptorChain chain;
                while ((chain = queue.pop()) != null) {
                    long want = Math.min(chain.writableBytes(), MAX_REQUEST_BYTES);
                    int filled = 0;
                    for (MemorySegment s : chain.writer(ctx.memory(), want).take(want)) {
                        byte[] bytes = new byte[(int) s.byteSize()];
                        random.nextBytes(bytes);
                        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
                        filled += bytes.length;
                    }
                    queue.addUsed(chain.head(), filled);
                    completed = true;
                }
            } while (queue.enableNotification());
            if (completed && queue.needsNotification()) {
                ctx.signalUsed(0);
            }
        } catch (VirtioException e) {
            ctx.needsReset(e.getMessage());
        } catch (GuestMemoryException e) {
            ctx.needsReset("virtio-rng: " + e.getMessage());
        }
    }
}
