package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

/** One resource's writer: applies its part of {@code linux.resources} to one cgroup directory. */
interface Controller {

    /** The v1 hierarchy or v2 controller it writes through; null when it needs none (v2 devices, unified keys). */
    String name();

    /** Whether {@code r} sets anything this controller writes. */
    boolean wants(Resources r);

    /** Writes every limit of {@code r} that this controller owns and that is set. */
    void apply(CgroupDir dir, Resources r) throws CgroupException;

    /** runc's convention, kept for config.json files written for it: 0 in these fields means "not set". */
    static boolean set(Long v) {
        return v != null && v != 0;
    }

    static boolean set(Integer v) {
        return v != null && v != 0;
    }
}
