package io.vessel.engine.container;

import io.vessel.runtime.spec.Resources;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code docker update}'s limits: each null leaves the container's as it is. They go to the running
 * container's cgroup (the runtime's update) and into its bundle's {@code linux.resources}, so that
 * the next start has them too.
 *
 * @param memory    bytes; -1 for no limit
 * @param nanoCpus  CPUs in billionths (Docker's NanoCpus); 0 for no limit
 * @param cpuShares the relative CPU weight (cgroup v1 cpu.shares)
 * @param pidsLimit processes; 0 or -1 for no limit
 */
public record ResourceUpdate(Long memory, Long nanoCpus, Long cpuShares, Long pidsLimit) {
    /** Docker's least memory limit (daemon/daemon_unix.go: linuxMinMemory), 6 MiB. */
    public static final long MIN_MEMORY = 6L * 1024 * 1024;
    /** The CFS period {@code --cpus} is expressed in, as at create (100 ms). */
    private static final long CPU_PERIOD = BundleMaker.CPU_PERIOD;
    private static final long NANO = 1_000_000_000L;
    /** cgroup v1 cpu.shares bounds (kernel/sched: MIN_SHARES, MAX_SHARES). */
    private static final long MIN_SHARES = 2, MAX_SHARES = 262_144;

    public ResourceUpdate {
        if (memory != null && memory != -1 && memory != 0 && memory < MIN_MEMORY) {
            throw new IllegalArgumentException(memory < 0 ? "the memory limit cannot be negative: " + memory
                    : "Minimum memory limit allowed is 6MB");
        }
        if (nanoCpus != null) {
            int cpus = Runtime.getRuntime().availableProcessors();
            if (nanoCpus < 0 || nanoCpus > cpus * NANO) {
                throw new IllegalArgumentException("Range of CPUs is from 0.01 to " + cpus + ".00, as there are only "
                        + cpus + " CPUs available");
            }
            if (nanoCpus > 0 && nanoCpus * CPU_PERIOD / NANO < 1000) {
                throw new IllegalArgumentException("Range of CPUs is from 0.01 to " + cpus + ".00, as there are only "
                        + cpus + " CPUs available");
            }
        }
        if (cpuShares != null && cpuShares != 0 && (cpuShares < MIN_SHARES || cpuShares > MAX_SHARES)) {
            throw new IllegalArgumentException("the CPU shares must be from " + MIN_SHARES + " to " + MAX_SHARES
                    + ", not " + cpuShares);
        }
        if (pidsLimit != null && pidsLimit < -1) {
            throw new IllegalArgumentException("the pids limit cannot be below -1 (unlimited): " + pidsLimit);
        }
    }

    public boolean isEmpty() {
        return memory == null && nanoCpus == null && cpuShares == null && pidsLimit == null;
    }

    /** The runtime's update: what is set, with "no limit" written as the cgroup's -1. */
    public Resources resources() {
        Resources.Memory m = memory == null ? null
                : new Resources.Memory(memory == 0 ? -1L : memory, null, null, null, null, null);
        Resources.Cpu c = null;
        if (nanoCpus != null || cpuShares != null) {
            Long quota = nanoCpus == null ? null : nanoCpus == 0 ? -1L : nanoCpus * CPU_PERIOD / NANO;
            Long period = nanoCpus == null || nanoCpus == 0 ? null : CPU_PERIOD;
            c = new Resources.Cpu(cpuShares == null || cpuShares == 0 ? null : cpuShares, quota, null, period, null,
                    null, null, null, null);
        }
        Long pids = pidsLimit == null ? null : pidsLimit <= 0 ? -1L : pidsLimit;
        return new Resources(List.of(), m, c, pids, null, List.of(), Map.of());
    }

    /**
     * Writes the limits into a bundle's {@code config.json} as parsed ({@code linux.resources}),
     * removing those lifted (0 or -1).
     */
    @SuppressWarnings("unchecked")
    public void applyTo(Map<String, Object> config) {
        Map<String, Object> linux = (Map<String, Object>) config.computeIfAbsent("linux", k -> new LinkedHashMap<>());
        Map<String, Object> r = (Map<String, Object>) linux.computeIfAbsent("resources", k -> new LinkedHashMap<>());
        if (memory != null) {
            Map<String, Object> m = (Map<String, Object>) r.computeIfAbsent("memory", k -> new LinkedHashMap<>());
            if (memory > 0) {
                m.put("limit", memory);
            } else {
                m.remove("limit");
            }
        }
        if (nanoCpus != null || cpuShares != null) {
            Map<String, Object> c = (Map<String, Object>) r.computeIfAbsent("cpu", k -> new LinkedHashMap<>());
            if (nanoCpus != null) {
                if (nanoCpus > 0) {
                    c.put("quota", nanoCpus * CPU_PERIOD / NANO);
                    c.put("period", CPU_PERIOD);
                } else {
                    c.remove("quota");
                    c.remove("period");
                }
            }
            if (cpuShares != null) {
                if (cpuShares > 0) {
                    c.put("shares", cpuShares);
                } else {
                    c.remove("shares");
                }
            }
        }
        if (pidsLimit != null) {
            if (pidsLimit > 0) {
                r.put("pids", new LinkedHashMap<>(Map.of("limit", pidsLimit)));
            } else {
                r.remove("pids");
            }
        }
    }
}
