package io.vessel.vmm;

import io.vessel.linux.RtNetlink;
import io.vessel.linux.Tun;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Taps a VM makes for itself ({@link DeviceConfig.Net#created}): created exclusively in the
 * namespace asked for, brought up, given the host address, all over rtnetlink in that namespace.
 * The tap is not persistent, so its only owner is the descriptor returned: closing it (or the
 * process dying) removes the link and its address, and a failure half-way closes it at once.
 */
final class HostTaps {
    private HostTaps() {
    }

    /** Creates and configures the tap {@code net} asks for; the caller owns (and closes) the result. */
    static Tun.Tap create(DeviceConfig.Net net) throws IOException {
        Tun.Tap tap = Tun.create(net.tapName(), net.netns());
        try {
            configure(tap.name(), net.netns(), net.hostAddress());
            return tap;
        } catch (IOException | RuntimeException e) {
            tap.close();
            throw e;
        }
    }

    private static void configure(String name, Path netns, HostAddress address) throws IOException {
        try (RtNetlink rt = netns == null ? RtNetlink.open() : RtNetlink.openIn(netns)) {
            if (address != null) {
                rt.addAddress(name, address.address(), address.prefix());
            }
            rt.setUp(name, true);
        }
    }
}
