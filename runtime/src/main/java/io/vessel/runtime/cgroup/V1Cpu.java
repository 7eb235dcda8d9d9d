package io.vessel.runtime.cgroup;

import io.vessel.linux.Errno;
import io.vessel.runtime.spec.Resources;

import static io.vessel.runtime.cgroup.Controller.set;

/** The v1 cpu controller: shares, CFS quota, period and burst, real-time runtime and period, idle. */
final class V1Cpu implements Controller {
    static final String SHARES = "cpu.shares", QUOTA = "cpu.cfs_quota_us", PERIOD = "cpu.cfs_period_us",
            BURST = "cpu.cfs_burst_us", RT_PERIOD = "cpu.rt_period_us", RT_RUNTIME = "cpu.rt_runtime_us",
            IDLE = "cpu.idle";

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public boolean wants(Resources r) {
        Resources.Cpu c = r.cpu();
        return c != null && (set(c.shares()) || set(c.quota()) || set(c.period()) || c.burst() != null
                || set(c.realtimeRuntime()) || set(c.realtimePeriod()) || c.idle() != null);
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        Resources.Cpu c = r.cpu();
        if (set(c.shares())) {
            dir.write(SHARES, c.shares());
        }
        writeQuotaAndPeriod(dir, c);
        if (c.burst() != null) {
            dir.write(BURST, c.burst());
        }
        // the period first: the runtime is checked against it (and against the parent's share)
        if (set(c.realtimePeriod())) {
            dir.write(RT_PERIOD, c.realtimePeriod());
        }
        if (set(c.realtimeRuntime())) {
            dir.write(RT_RUNTIME, c.realtimeRuntime());
        }
        if (c.idle() != null) {
            dir.write(IDLE, c.idle());
        }
    }

    /**
     * Period before quota, except when the kernel refuses the new period against the old quota
     * (a burst above the new quota, say): then quota first and the period again.
     */
    private static void writeQuotaAndPeriod(CgroupDir dir, Resources.Cpu c) throws CgroupException {
        if (set(c.period())) {
            try {
                dir.write(PERIOD, c.period());
            } catch (CgroupException e) {
                if (e.errno() != Errno.EINVAL || !set(c.quota())) {
                    throw e;
                }
                dir.write(QUOTA, c.quota());
                dir.write(PERIOD, c.period());
                return;
            }
        }
        if (set(c.quota())) {
            dir.write(QUOTA, c.quota());
        }
    }
}
