package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

/** The pids controller, the same on v1 and v2: {@code pids.max}, "max" for a limit of 0 or less. */
final class Pids implements Controller {
    static final String MAX = "pids.max";

    @Override
    public String name() {
        return "pids";
    }

    @Override
    public boolean wants(Resources r) {
        return r.pidsLimit() != null;
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        long limit = r.pidsLimit();
        dir.write(MAX, limit > 0 ? Long.toString(limit) : "max");
    }
}
