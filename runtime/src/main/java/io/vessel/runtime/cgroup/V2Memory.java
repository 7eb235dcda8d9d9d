package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import static io.vessel.runtime.cgroup.Controller.set;

/**
 * The v2 memory controller: {@code memory.max}, {@code memory.low} from the reservation and
 * {@code memory.swap.max}, which counts swap alone where OCI's swap is memory+swap. Swappiness
 * and the OOM killer switch have no v2 file and are left alone.
 */
final class V2Memory implements Controller {
    static final String MAX = "memory.max", LOW = "memory.low", SWAP_MAX = "memory.swap.max";

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public boolean wants(Resources r) {
        Resources.Memory m = r.memory();
        return m != null && (set(m.limit()) || set(m.reservation()) || set(m.swap()));
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        Resources.Memory m = r.memory();
        String swapMax = swapMax(m.limit(), m.swap());
        if (set(m.limit())) {
            dir.write(MAX, limit(m.limit()));
        }
        if (swapMax != null && !(swapMax.equals("max") && !dir.has(SWAP_MAX))) {
            dir.write(SWAP_MAX, swapMax);
        }
        if (set(m.reservation())) {
            dir.write(LOW, limit(m.reservation()));
        }
    }

    /**
     * memory.swap.max for OCI's memory+swap {@code swap} beside memory {@code limit}: "max" for
     * -1, {@code swap - limit} otherwise; null when swap is not set.
     */
    static String swapMax(Long limit, Long swap) throws CgroupException {
        if (!set(swap)) {
            return null;
        }
        if (swap == -1) {
            return "max";
        }
        if (!set(limit) || limit == -1) {
            throw new CgroupException("cgroup: linux.resources.memory.swap " + swap
                    + " needs a memory limit on cgroup v2, where swap is limited apart from memory");
        }
        if (swap < limit) {
            throw new CgroupException("cgroup: linux.resources.memory.swap " + swap
                    + " (memory+swap) is below the memory limit " + limit);
        }
        return Long.toString(swap - limit);
    }

    static String limit(long v) {
        return v < 0 ? "max" : Long.toString(v);
    }
}
