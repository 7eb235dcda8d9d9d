package io.vessel.engine.vm;

import io.vessel.vmm.DeviceConfig;

/**
 * A VM's network as {@code --net tap=NAME[,mac=MAC]} names it: virtio-net on the existing tap
 * NAME (made beforehand, e.g. {@code ip tuntap add dev NAME mode tap}); {@code --net none} is no
 * network (null where a {@code VmNet} is expected).
 */
public record VmNet(String tap, String mac) {
    /** A locally administered unicast address (bit 1 of the first byte set, bit 0 clear). */
    public static final String DEFAULT_MAC = "06:00:ac:10:00:02";

    public VmNet {
        // validated by the VMM's own rules, so the message is the one a VM would give
        DeviceConfig.Net.named(tap, null, mac);
    }

    /** {@code tap=NAME[,mac=MAC]} or {@code none} (null). */
    public static VmNet parse(String spec) {
        if (spec.equals("none")) {
            return null;
        }
        String tap = null;
        String mac = DEFAULT_MAC;
        for (String part : spec.split(",", -1)) {
            if (part.startsWith("tap=") && part.length() > 4) {
                tap = part.substring(4);
            } else if (part.startsWith("mac=")) {
                mac = part.substring(4);
            } else {
                throw new IllegalArgumentException("--net \"" + spec + "\": \"" + part + "\" is not tap=NAME or mac=MAC;"
                        + " expected tap=NAME[,mac=MAC] or none");
            }
        }
        if (tap == null) {
            throw new IllegalArgumentException("--net \"" + spec + "\": no tap=NAME; expected tap=NAME[,mac=MAC] or none");
        }
        try {
            return new VmNet(tap, mac);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--net \"" + spec + "\": " + e.getMessage(), e);
        }
    }

    DeviceConfig.Net device() {
        return DeviceConfig.Net.named(tap, null, mac);
    }
}
