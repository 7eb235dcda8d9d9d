package io.vessel.engine.vm;

import io.vessel.vmm.DeviceConfig;
import io.vessel.vmm.HostAddress;

import java.nio.file.Path;

/**
 * A VM's network as {@code --net tap=NAME[,mac=MAC][,netns=NS][,create[,addr=CIDR]]} names it:
 * virtio-net on the tap NAME in the network namespace NS (a path such as
 * {@code /proc/PID/ns/net}, or a name pinned by {@code ip netns add} under {@link #NETNS_DIR};
 * default: Vessel's own). Without {@code create} the tap must exist (made beforehand, e.g.
 * {@code ip tuntap add dev NAME mode tap}); with it, the VM makes the tap itself, brings it up
 * with the host address CIDR if given, and the tap goes when the VM ends, however it ends.
 * {@code --net none} is no network (null where a {@code VmNet} is expected).
 */
public record VmNet(String tap, String mac, Path netns, boolean create, HostAddress address) {
    /** A locally administered unicast address (bit 1 of the first byte set, bit 0 clear). */
    public static final String DEFAULT_MAC = "06:00:ac:10:00:02";
    /** Where {@code ip netns add NAME} pins named namespaces (iproute2's NETNS_RUN_DIR). */
    public static final Path NETNS_DIR = Path.of("/run/netns");
    private static final String FORM = "expected tap=NAME[,mac=MAC][,netns=NS][,create[,addr=CIDR]] or none";

    public VmNet {
        // validated by the VMM's own rules, so the message is the one a VM would give
        device(tap, mac, netns, create, address);
    }

    /** The existing tap NAME in Vessel's namespace. */
    public VmNet(String tap, String mac) {
        this(tap, mac, null, false, null);
    }

    /** {@code tap=NAME[,mac=MAC][,netns=NS][,create[,addr=CIDR]]} or {@code none} (null). */
    public static VmNet parse(String spec) {
        if (spec.equals("none")) {
            return null;
        }
        String tap = null;
        String mac = DEFAULT_MAC;
        Path netns = null;
        boolean create = false;
        HostAddress address = null;
        try {
            for (String part : spec.split(",", -1)) {
                if (part.startsWith("tap=") && part.length() > 4) {
                    tap = part.substring(4);
                } else if (part.startsWith("mac=")) {
                    mac = part.substring(4);
                } else if (part.startsWith("netns=") && part.length() > 6) {
                    netns = netns(part.substring(6));
                } else if (part.equals("create")) {
                    create = true;
                } else if (part.startsWith("addr=")) {
                    address = HostAddress.parse(part.substring(5));
                } else {
                    throw new IllegalArgumentException("\"" + part + "\" is not tap=NAME, mac=MAC, netns=NS, create"
                            + " or addr=CIDR; " + FORM);
                }
            }
            if (tap == null) {
                throw new IllegalArgumentException("no tap=NAME; " + FORM);
            }
            if (address != null && !create) {
                throw new IllegalArgumentException("addr= needs create (Vessel only configures taps it creates); " + FORM);
            }
            return new VmNet(tap, mac, netns, create, address);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--net \"" + spec + "\": " + e.getMessage(), e);
        }
    }

    /** A path as it is; a bare name is the namespace {@code ip netns add NAME} pinned. */
    private static Path netns(String value) {
        if (value.contains("/")) {
            return Path.of(value);
        }
        if (value.equals(".") || value.equals("..")) {
            throw new IllegalArgumentException("\"" + value + "\" is not a network namespace name or path");
        }
        return NETNS_DIR.resolve(value);
    }

    DeviceConfig.Net device() {
        return device(tap, mac, netns, create, address);
    }

    private static DeviceConfig.Net device(String tap, String mac, Path netns, boolean create, HostAddress address) {
        return create ? DeviceConfig.Net.created(tap, netns, mac, address) : new DeviceConfig.Net(tap, netns, null, mac,
                null, null, false, address);
    }
}
