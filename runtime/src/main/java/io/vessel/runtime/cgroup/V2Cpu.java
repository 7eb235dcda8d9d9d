package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import static io.vessel.runtime.cgroup.Controller.set;

/**
 * The v2 cpu controller: {@code cpu.weight} from shares, {@code cpu.max} "quota period",
 * {@code cpu.max.burst} and {@code cpu.idle}. Real-time limits have no v2 form.
 */
final class V2Cpu implements Controller {
    static final String WEIGHT = "cpu.weight", MAX = "cpu.max", BURST = "cpu.max.burst", IDLE = "cpu.idle";
    // v1 cpu.shares range and v2 cpu.weight range (kernel/sched: MIN_SHARES, MAX_SHARES; CGROUP_WEIGHT_MIN/MAX)
    static final long MIN_SHARES = 2, MAX_SHARES = 262144, MIN_WEIGHT = 1, MAX_WEIGHT = 10000;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public boolean wants(Resources r) {
        Resources.Cpu c = r.cpu();
        return c != null && (set(c.shares()) || set(c.quota()) || set(c.period()) || c.burst() != null
                || c.idle() != null || set(c.realtimeRuntime()) || set(c.realtimePeriod()));
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        Resources.Cpu c = r.cpu();
        if (set(c.realtimeRuntime()) || set(c.realtimePeriod())) {
            throw new CgroupException("cgroup: linux.resources.cpu.realtimeRuntime and realtimePeriod"
                    + " need cgroup v1; cgroup v2 has no real-time group scheduling");
        }
        if (set(c.shares())) {
            dir.write(WEIGHT, weightFromShares(c.shares()));
        }
        if (set(c.quota()) || set(c.period())) {
            dir.write(MAX, max(dir, c.quota(), c.period()));
        }
        if (c.burst() != null) {
            dir.write(BURST, c.burst());
        }
        if (c.idle() != null) {
            dir.write(IDLE, c.idle());
        }
    }

    /** v1 shares [2, 262144] mapped linearly onto v2 weights [1, 10000]. */
    static long weightFromShares(long shares) {
        long s = Math.clamp(shares, MIN_SHARES, MAX_SHARES);
        return MIN_WEIGHT + ((s - MIN_SHARES) * (MAX_WEIGHT - MIN_WEIGHT)) / (MAX_SHARES - MIN_SHARES);
    }

    /** "quota period" with "max" for no quota; what is not given is kept from the current cpu.max. */
    static String max(CgroupDir dir, Long quota, Long period) throws CgroupException {
        String q;
        String p;
        if (set(quota) && set(period)) {
            q = quota < 0 ? "max" : quota.toString();
            p = period.toString();
        } else {
            String[] current = dir.read(MAX).split("\\s+");
            q = set(quota) ? (quota < 0 ? "max" : quota.toString()) : current[0];
            p = set(period) ? period.toString() : current[current.length - 1];
        }
        return q + " " + p;
    }
}
