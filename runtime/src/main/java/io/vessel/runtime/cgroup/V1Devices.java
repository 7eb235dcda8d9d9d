package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

/** The v1 devices controller: deny everything, then each rule in order to devices.allow or devices.deny. */
final class V1Devices implements Controller {
    static final String ALLOW = "devices.allow", DENY = "devices.deny";

    @Override
    public String name() {
        return "devices";
    }

    @Override
    public boolean wants(Resources r) {
        return r.devices() != null && !r.devices().isEmpty();
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        dir.write(DENY, "a");
        for (Resources.DeviceRule rule : r.devices()) {
            for (String line : DeviceRules.v1Lines(rule)) {
                dir.write(rule.allow() ? ALLOW : DENY, line);
            }
        }
    }
}
