package io.vessel.runtime.container;

import io.vessel.runtime.spec.Resources;
import io.vessel.runtime.spec.Spec;

import java.util.ArrayList;
import java.util.List;

/**
 * The device cgroup rules a container gets on top of its config's: what every container needs
 * to work (the default devices, terminals, creating nodes) and an allow rule for each device in
 * {@code linux.devices}, appended after the config's own rules as runc does.
 */
final class DeviceAllowList {
    private static final List<Resources.DeviceRule> DEFAULTS = List.of(
            rule("c", null, null, "m"), rule("b", null, null, "m"), // mknod of any node; access stays ruled
            rule("c", 1L, 3L, "rwm"),   // /dev/null
            rule("c", 1L, 5L, "rwm"),   // /dev/zero
            rule("c", 1L, 7L, "rwm"),   // /dev/full
            rule("c", 1L, 8L, "rwm"),   // /dev/random
            rule("c", 1L, 9L, "rwm"),   // /dev/urandom
            rule("c", 5L, 0L, "rwm"),   // /dev/tty
            rule("c", 5L, 1L, "rwm"),   // /dev/console
            rule("c", 5L, 2L, "rwm"),   // /dev/ptmx
            rule("c", 136L, null, "rwm"), // /dev/pts/*
            rule("c", 10L, 200L, "rwm")); // /dev/net/tun

    private DeviceAllowList() {
    }

    private static Resources.DeviceRule rule(String type, Long major, Long minor, String access) {
        return new Resources.DeviceRule(true, type, major, minor, access);
    }

    /** The resources to apply: the config's, with the device rules completed when it has any. */
    static Resources effective(Spec spec) {
        Resources r = spec.linux().resources();
        if (r.devices().isEmpty()) {
            return r;
        }
        List<Resources.DeviceRule> rules = new ArrayList<>(r.devices());
        rules.addAll(DEFAULTS);
        for (Spec.Device d : spec.linux().devices()) {
            if (!d.type().equals("p")) {
                rules.add(rule(d.type().equals("u") ? "c" : d.type(), d.major(), d.minor(), "rwm"));
            }
        }
        return new Resources(List.copyOf(rules), r.memory(), r.cpu(), r.pidsLimit(), r.blockIO(), r.hugepageLimits(),
                r.unified());
    }
}
