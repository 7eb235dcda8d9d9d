package io.vessel.vmm.api;

import io.vessel.json.JsonNode;
import io.vessel.vmm.HostAddress;
import io.vessel.vmm.ratelimit.RateLimiter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The bodies of the control API's requests, as Firecracker's API defines them (field names,
 * required and optional members); each reader rejects unknown fields, wrong types and missing
 * files with a message naming the field.
 */
public final class Requests {
    /** Firecracker's limit on vCPUs (MAX_SUPPORTED_VCPUS). */
    public static final int MAX_VCPUS = 32;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_]{1,64}");
    private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
    /** Guest CIDs 0-2 are reserved (hypervisor, local, host: vsock(7)). */
    private static final long FIRST_GUEST_CID = 3;

    private Requests() {
    }

    /** PUT /boot-source. */
    public record BootSource(Path kernelImagePath, Path initrdPath, String bootArgs) {
        /** Firecracker's default command line, with the console on COM1. */
        public static final String DEFAULT_BOOT_ARGS = "console=ttyS0 reboot=k panic=1 pci=off";

        static BootSource read(JsonNode b) {
            b.only("kernel_image_path", "initrd_path", "boot_args");
            Path kernel = existingFile(b.get("kernel_image_path"));
            Path initrd = b.get("initrd_path").present() ? existingFile(b.get("initrd_path")) : null;
            return new BootSource(kernel, initrd, b.get("boot_args").string(DEFAULT_BOOT_ARGS));
        }
    }

    /** PUT /machine-config (and what GET /machine-config returns). */
    public record MachineConfig(int vcpuCount, long memSizeMib, boolean smt) {
        /** Firecracker's defaults: one vCPU, 128 MiB. */
        public static final MachineConfig DEFAULT = new MachineConfig(1, 128, false);

        static MachineConfig read(JsonNode b) {
            b.only("vcpu_count", "mem_size_mib", "smt", "track_dirty_pages");
            int vcpus = (int) b.get("vcpu_count").range(1, MAX_VCPUS);
            long mib = b.get("mem_size_mib").range(2, 1L << 24);
            if (b.get("smt").bool(false)) {
                throw b.get("smt").fail("true is not supported: each vCPU is a core of its own");
            }
            if (b.get("track_dirty_pages").bool(false)) {
                throw b.get("track_dirty_pages").fail("true is not supported by this VMM's API yet");
            }
            return new MachineConfig(vcpus, mib, false);
        }

        java.util.Map<String, Object> json() {
            var m = new java.util.LinkedHashMap<String, Object>();
            m.put("vcpu_count", vcpuCount);
            m.put("mem_size_mib", memSizeMib);
            m.put("smt", smt);
            m.put("track_dirty_pages", false);
            return m;
        }
    }

    /** A token bucket of a rate_limiter: size, one_time_burst, refill_time (ms). */
    public record TokenBucket(long size, long oneTimeBurst, long refillTimeMillis) {
        static TokenBucket read(JsonNode b) {
            if (!b.present()) {
                return null;
            }
            b.only("size", "one_time_burst", "refill_time");
            long size = b.get("size").range(0, Long.MAX_VALUE / 2);
            long burst = b.get("one_time_burst").present() ? b.get("one_time_burst").range(0, Long.MAX_VALUE / 2) : 0;
            long refill = b.get("refill_time").range(0, Long.MAX_VALUE / 1_000_000L);
            if (size > 0 && refill == 0) {
                throw b.get("refill_time").fail("must be more than 0 for a bucket of size " + size);
            }
            return new TokenBucket(size, burst, refill);
        }
    }

    /** A rate_limiter: a bandwidth (bytes) bucket and an ops bucket, each optional. */
    public record RateLimit(TokenBucket bandwidth, TokenBucket ops) {
        static RateLimit read(JsonNode b) {
            if (!b.present()) {
                return null;
            }
            b.only("bandwidth", "ops");
            return new RateLimit(TokenBucket.read(b.get("bandwidth")), TokenBucket.read(b.get("ops")));
        }

        /** The limiter a device enforces. */
        public RateLimiter toRateLimiter() {
            TokenBucket none = new TokenBucket(0, 0, 0);
            TokenBucket bw = bandwidth == null ? none : bandwidth, o = ops == null ? none : ops;
            return RateLimiter.of(bw.size, bw.oneTimeBurst, bw.refillTimeMillis, o.size, o.oneTimeBurst, o.refillTimeMillis,
                    System::nanoTime);
        }
    }

    /** PUT /drives/{drive_id}. */
    public record Drive(String driveId, Path pathOnHost, boolean isRootDevice, boolean isReadOnly, RateLimit rateLimiter) {
        static Drive read(String pathId, JsonNode b) {
            b.only("drive_id", "path_on_host", "is_root_device", "is_read_only", "rate_limiter");
            String id = checkId(pathId, b.get("drive_id"));
            if (!b.get("is_root_device").present()) {
                throw b.get("is_root_device").fail("is required");
            }
            return new Drive(id, existingFile(b.get("path_on_host")), b.get("is_root_device").bool(false),
                    b.get("is_read_only").bool(false), RateLimit.read(b.get("rate_limiter")));
        }
    }

    /**
     * PUT /network-interfaces/{iface_id}. Beyond Firecracker's fields, three of Vessel's, named
     * with its prefix so that no Firecracker field is shadowed: {@code vessel_netns}, the network
     * namespace the tap is in (a path such as {@code /run/netns/NAME}; default the VMM's own),
     * {@code vessel_create_tap}, true to have the VM create the tap {@code host_dev_name} itself
     * for its lifetime instead of attaching to an existing one, and {@code vessel_host_address}
     * ({@code A.B.C.D/N}) to give such a tap's host end.
     */
    public record NetworkInterface(String ifaceId, String hostDevName, String guestMac, RateLimit rxRateLimiter,
                                   RateLimit txRateLimiter, Path netns, boolean createTap, HostAddress hostAddress) {
        /** IFNAMSIZ - 1: the longest Linux interface name. */
        static final int MAX_IFNAME = 15;

        static NetworkInterface read(String pathId, JsonNode b) {
            b.only("iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter", "tx_rate_limiter", "vessel_netns",
                    "vessel_create_tap", "vessel_host_address");
            String id = checkId(pathId, b.get("iface_id"));
            String dev = b.get("host_dev_name").string();
            if (dev.isEmpty() || dev.length() > MAX_IFNAME || dev.contains("/") || dev.isBlank() || dev.contains(" ")) {
                throw b.get("host_dev_name").fail("must be a Linux interface name of 1 to " + MAX_IFNAME + " characters, not '" + dev + "'");
            }
            String mac = b.get("guest_mac").string(null);
            if (mac != null && !MAC.matcher(mac).matches()) {
                throw b.get("guest_mac").fail("must be a MAC address like 06:00:ac:10:00:02, not '" + mac + "'");
            }
            if (mac != null && (Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
                throw b.get("guest_mac").fail("must be a unicast address (first byte even), not the multicast '" + mac + "'");
            }
            Path netns = null;
            if (b.get("vessel_netns").present()) {
                netns = Path.of(b.get("vessel_netns").string());
                if (!Files.exists(netns)) {
                    throw b.get("vessel_netns").fail("names no network namespace: " + netns + " does not exist");
                }
            }
            boolean create = b.get("vessel_create_tap").bool(false);
            HostAddress address = null;
            if (b.get("vessel_host_address").present()) {
                if (!create) {
                    throw b.get("vessel_host_address").fail("needs vessel_create_tap: Vessel configures only taps it creates");
                }
                try {
                    address = HostAddress.parse(b.get("vessel_host_address").string());
                } catch (IllegalArgumentException e) {
                    throw b.get("vessel_host_address").fail(e.getMessage());
                }
            }
            return new NetworkInterface(id, dev, mac, RateLimit.read(b.get("rx_rate_limiter")),
                    RateLimit.read(b.get("tx_rate_limiter")), netns, create, address);
        }
    }

    /** PUT /vsock: the guest's CID and the Unix socket the host side listens on. */
    public record Vsock(long guestCid, Path udsPath) {
        static Vsock read(JsonNode b) {
            b.only("guest_cid", "uds_path", "vsock_id");
            long cid = b.get("guest_cid").range(FIRST_GUEST_CID, 0xFFFF_FFFEL);
            Path uds = Path.of(b.get("uds_path").string());
            Path parent = uds.toAbsolutePath().getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                throw b.get("uds_path").fail("is in a directory that does not exist: " + parent);
            }
            return new Vsock(cid, uds);
        }
    }

    /** PUT /actions. */
    public sealed interface Action {
        record InstanceStart() implements Action {
        }

        record SendCtrlAltDel() implements Action {
        }

        static Action read(JsonNode b) {
            b.only("action_type");
            String type = b.get("action_type").string();
            return switch (type) {
                case "InstanceStart" -> new InstanceStart();
                case "SendCtrlAltDel" -> new SendCtrlAltDel();
                default -> throw b.get("action_type").fail("must be InstanceStart or SendCtrlAltDel, not '" + type + "'");
            };
        }
    }

    /** PATCH /vm: the state wanted. */
    public enum VmState {
        PAUSED, RESUMED;

        static VmState read(JsonNode b) {
            b.only("state");
            String s = b.get("state").string();
            return switch (s) {
                case "Paused" -> PAUSED;
                case "Resumed" -> RESUMED;
                default -> throw b.get("state").fail("must be Paused or Resumed, not '" + s + "'");
            };
        }
    }

    private static String checkId(String pathId, JsonNode body) {
        String id = body.string();
        if (!id.equals(pathId)) {
            throw body.fail("'" + id + "' does not match the id in the path, '" + pathId + "'");
        }
        if (!ID.matcher(id).matches()) {
            throw body.fail("must be 1 to 64 letters, digits or underscores, not '" + id + "'");
        }
        return id;
    }

    private static Path existingFile(JsonNode n) {
        Path p = Path.of(n.string());
        if (!Files.isRegularFile(p)) {
            throw n.fail("names no regular file: " + p + (Files.exists(p) ? " (not a regular file)" : " does not exist"));
        }
        if (!Files.isReadable(p)) {
            throw n.fail("names a file this VMM cannot read: " + p);
        }
        return p;
    }
}
