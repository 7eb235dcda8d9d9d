package io.vessel.vmm;

import io.vessel.linux.Tun;
import io.vessel.vmm.devices.virtio.NetDevice;
import io.vessel.vmm.ratelimit.RateLimiter;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A virtio device to give the VM. Each becomes a virtio-mmio transport in its own window from
 * {@code Layout.VIRTIO_MMIO_BASE} with its own GSI from {@code Layout.VIRTIO_FIRST_GSI}, in the
 * order listed, announced on the kernel command line ({@code virtio_mmio.device=}). Values are
 * checked here, so a bad MAC or CID fails before anything is opened.
 */
public sealed interface DeviceConfig {
    /**
     * virtio-blk over the raw image {@code path}; {@code id} is the serial GET_ID returns (at most
     * 20 bytes); {@code limiter} throttles its requests (bytes and operations).
     */
    record Block(Path path, boolean readOnly, String id, RateLimiter limiter) implements DeviceConfig {
        public Block {
            Objects.requireNonNull(path, "path");
            id = id == null ? "" : id;
            limiter = limiter == null ? RateLimiter.UNLIMITED : limiter;
        }

        public Block(Path path, boolean readOnly, String id) {
            this(path, readOnly, id, RateLimiter.UNLIMITED);
        }

        public Block(Path path, boolean readOnly) {
            this(path, readOnly, path.getFileName() == null ? "" : truncate(path.getFileName().toString()));
        }

        public Block withLimiter(RateLimiter rateLimiter) {
            return new Block(path, readOnly, id, rateLimiter);
        }

        private static String truncate(String name) {
            return name.length() <= 20 ? name : name.substring(0, 20);
        }
    }

    /** virtio-rng, fed from the JDK's SecureRandom. */
    record Rng() implements DeviceConfig {
    }

    /**
     * virtio-net on a tap, from one of three sources: {@code tap}, one the caller opened (the VM
     * takes it over and closes it); the existing persistent tap {@code tapName} (Firecracker's
     * {@code host_dev_name}); or, with {@code create}, a new tap {@code tapName} the VM makes
     * itself, up and with {@code hostAddress} (null: none) on its host end, and which goes with
     * the VM (and with the VMM process, however it dies: the tap is not persistent). Named taps
     * are in the namespace {@code netns}, null for the VMM's own. {@code mac} is the guest's
     * unicast address ("06:00:0a:00:00:02"); {@code rx}/{@code tx} throttle what the guest
     * receives and sends.
     */
    record Net(String tapName, Path netns, Tun.Tap tap, String mac, RateLimiter rx, RateLimiter tx, boolean create,
               HostAddress hostAddress) implements DeviceConfig {
        public Net {
            if (tap == null && (tapName == null || tapName.isEmpty())) {
                throw new IllegalArgumentException("a network device needs a tap: a tap name or an open tap");
            }
            if (tap != null && create) {
                throw new IllegalArgumentException("tap " + tap.name() + " is already open; only a named tap can be created");
            }
            if (hostAddress != null && !create) {
                throw new IllegalArgumentException("a host address (" + hostAddress + ") can only be given to a tap"
                        + " Vessel creates; configure the existing tap " + tapName + " yourself");
            }
            if (tap != null) {
                tapName = tap.name();
            }
            Objects.requireNonNull(mac, "mac");
            byte[] bytes = NetDevice.parseMac(mac);
            if ((bytes[0] & 1) != 0) {
                throw new IllegalArgumentException("MAC address " + mac + " is a multicast address; the guest needs a unicast one");
            }
            mac = NetDevice.formatMac(bytes);
            rx = rx == null ? RateLimiter.UNLIMITED : rx;
            tx = tx == null ? RateLimiter.UNLIMITED : tx;
        }

        public Net(String tapName, Path netns, Tun.Tap tap, String mac, RateLimiter rx, RateLimiter tx) {
            this(tapName, netns, tap, mac, rx, tx, false, null);
        }

        /** The existing tap {@code tapName} in namespace {@code netns} (null: the VMM's), unthrottled. */
        public static Net named(String tapName, Path netns, String mac) {
            return new Net(tapName, netns, null, mac, null, null);
        }

        /** A tap the caller opened; the VM owns it from now on. */
        public static Net of(Tun.Tap tap, String mac) {
            return new Net(null, null, tap, mac, null, null);
        }

        /**
         * A new tap {@code tapName} the VM creates in namespace {@code netns} (null: the VMM's),
         * brought up with {@code hostAddress} (null: none), removed when the VM ends.
         */
        public static Net created(String tapName, Path netns, String mac, HostAddress hostAddress) {
            return new Net(tapName, netns, null, mac, null, null, true, hostAddress);
        }

        public Net withLimiters(RateLimiter rxLimiter, RateLimiter txLimiter) {
            return new Net(tapName, netns, tap, mac, rxLimiter, txLimiter, create, hostAddress);
        }
    }

    /**
     * virtio-vsock for guest {@code guestCid} (3 to 2^32 - 2) with Firecracker's hybrid host side:
     * host programs connect to the Unix socket {@code udsPath} and write {@code CONNECT <port>};
     * guest connections to host port P go to {@code udsPath_P}.
     */
    record Vsock(long guestCid, Path udsPath) implements DeviceConfig {
        /** Linux's VMADDR_CID_HOST; 0 and 1 are reserved too, and -1 is VMADDR_CID_ANY. */
        public static final long FIRST_GUEST_CID = 3;
        public static final long LAST_GUEST_CID = 0xFFFF_FFFEL;

        public Vsock {
            Objects.requireNonNull(udsPath, "udsPath");
            if (guestCid < FIRST_GUEST_CID || guestCid > LAST_GUEST_CID) {
                throw new IllegalArgumentException("guest CID " + guestCid + " is reserved or out of range: use "
                        + FIRST_GUEST_CID + " to " + LAST_GUEST_CID);
            }
        }
    }
}
