package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import static io.vessel.runtime.cgroup.Controller.set;

/**
 * The v1 memory controller: limit, reservation (soft limit), memory+swap, swappiness and the OOM
 * killer switch.
 */
final class V1Memory implements Controller {
    static final String LIMIT = "memory.limit_in_bytes", SOFT_LIMIT = "memory.soft_limit_in_bytes",
            MEMSW_LIMIT = "memory.memsw.limit_in_bytes", SWAPPINESS = "memory.swappiness",
            OOM_CONTROL = "memory.oom_control";

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public boolean wants(Resources r) {
        Resources.Memory m = r.memory();
        return m != null && (set(m.limit()) || set(m.reservation()) || set(m.swap()) || m.swappiness() != null
                || m.disableOOMKiller() != null);
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        Resources.Memory m = r.memory();
        Long limit = set(m.limit()) ? m.limit() : null;
        // memory+swap exists only with swap accounting; without it there is nothing to cap
        Long swap = set(m.swap()) && dir.has(MEMSW_LIMIT) ? m.swap() : null;
        if (limit != null && limit == -1 && swap == null && dir.has(MEMSW_LIMIT)) {
            swap = -1L; // an unlimited memory limit above a finite memory+swap one is refused
        }
        writeLimitAndSwap(dir, limit, swap);
        if (set(m.reservation())) {
            dir.write(SOFT_LIMIT, m.reservation());
        }
        if (m.swappiness() != null) {
            dir.write(SWAPPINESS, m.swappiness());
        }
        if (m.disableOOMKiller() != null) {
            dir.write(OOM_CONTROL, m.disableOOMKiller() ? "1" : "0");
        }
    }

    /**
     * The kernel keeps memory+swap at least the memory limit after every single write, so the
     * order depends on where the limits move: memory+swap first when it stays at or above the
     * current memory limit (raising), the memory limit first otherwise (lowering).
     */
    private static void writeLimitAndSwap(CgroupDir dir, Long limit, Long swap) throws CgroupException {
        if (swap == null) {
            if (limit != null) {
                dir.write(LIMIT, limit);
            }
            return;
        }
        if (limit == null) {
            dir.write(MEMSW_LIMIT, swap);
            return;
        }
        long currentLimit = dir.number(LIMIT);
        if (swap == -1 || Long.compareUnsigned(swap, currentLimit) >= 0) {
            dir.write(MEMSW_LIMIT, swap);
            dir.write(LIMIT, limit);
        } else {
            dir.write(LIMIT, limit);
            dir.write(MEMSW_LIMIT, swap);
        }
    }
}
