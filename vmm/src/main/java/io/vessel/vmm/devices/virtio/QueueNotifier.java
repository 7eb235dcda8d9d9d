package io.vessel.vmm.devices.virtio;

/**
 * Where the guest's "there is work in queue N" arrives: from a trapped write to QueueNotify or,
 * faster, from an ioeventfd the VMM registered on that register (with the queue index as its
 * datamatch) and polls in its event loop.
 */
@FunctionalInterface
public interface QueueNotifier {
    void notifyQueue(int queueIndex);
}
