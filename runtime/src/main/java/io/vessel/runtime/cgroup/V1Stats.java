package io.vessel.runtime.cgroup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link Stats} read from the v1 hierarchies' statistics files; a hierarchy that is absent reads as zeros. */
final class V1Stats {
    /** USER_HZ, the unit of cpuacct.stat: 100 on every architecture, whatever the kernel's HZ. */
    static final long NANOS_PER_TICK = 1_000_000_000L / 100;
    /** Statistics files of blkio, first the throttle layer's (counts every I/O), then BFQ's and CFQ's. */
    private static final List<String> BYTES_FILES = List.of("blkio.throttle.io_service_bytes_recursive",
            "blkio.bfq.io_service_bytes_recursive", "blkio.io_service_bytes_recursive");
    private static final List<String> IOS_FILES = List.of("blkio.throttle.io_serviced_recursive",
            "blkio.bfq.io_serviced_recursive", "blkio.io_serviced_recursive");

    private V1Stats() {
    }

    /** {@code dirs}: hierarchy name to the container's directory in it; hugetlb may be a v2 directory. */
    static Stats read(Map<String, CgroupDir> dirs, CgroupDir hugetlbV2) throws CgroupException {
        return new Stats(cpu(dirs.get("cpuacct"), dirs.get("cpu")), memory(dirs.get("memory")),
                pids(dirs.get("pids")), blkio(dirs.get("blkio")),
                dirs.containsKey("hugetlb") ? hugetlb(dirs.get("hugetlb"))
                        : hugetlbV2 != null ? V2Stats.hugetlb(hugetlbV2) : Map.of());
    }

    static Stats.Cpu cpu(CgroupDir acct, CgroupDir cpu) throws CgroupException {
        long total = 0, kernel = 0, user = 0;
        List<Long> percpu = new ArrayList<>();
        if (acct != null) {
            total = acct.number("cpuacct.usage");
            for (String n : acct.readIfPresent("cpuacct.usage_percpu").split("\\s+")) {
                if (!n.isEmpty()) {
                    percpu.add(CgroupDir.parse(acct.file("cpuacct.usage_percpu"), n));
                }
            }
            if (acct.has("cpuacct.usage_sys")) {
                kernel = acct.number("cpuacct.usage_sys");
                user = acct.number("cpuacct.usage_user");
            } else {
                Map<String, Long> ticks = acct.keyed("cpuacct.stat");
                kernel = ticks.getOrDefault("system", 0L) * NANOS_PER_TICK;
                user = ticks.getOrDefault("user", 0L) * NANOS_PER_TICK;
            }
        }
        Map<String, Long> stat = cpu == null ? Map.of() : cpu.keyed("cpu.stat");
        return new Stats.Cpu(new Stats.CpuUsage(total, percpu, kernel, user),
                new Stats.Throttling(stat.getOrDefault("nr_periods", 0L), stat.getOrDefault("nr_throttled", 0L),
                        stat.getOrDefault("throttled_time", 0L)));
    }

    static Stats.Memory memory(CgroupDir dir) throws CgroupException {
        if (dir == null) {
            return new Stats.Memory(0, new Stats.MemoryEntry(0, 0, 0, 0), new Stats.MemoryEntry(0, 0, 0, 0), Map.of());
        }
        Map<String, Long> raw = dir.keyed("memory.stat");
        return new Stats.Memory(raw.getOrDefault("total_cache", raw.getOrDefault("cache", 0L)),
                entry(dir, "memory."), entry(dir, "memory.memsw."), raw);
    }

    private static Stats.MemoryEntry entry(CgroupDir dir, String prefix) throws CgroupException {
        return new Stats.MemoryEntry(dir.number(prefix + "limit_in_bytes"), dir.number(prefix + "usage_in_bytes"),
                dir.number(prefix + "max_usage_in_bytes"), dir.number(prefix + "failcnt"));
    }

    /** pids.current and pids.max, where "max" reads as 0 (no limit) as runc reports it. */
    static Stats.Pids pids(CgroupDir dir) throws CgroupException {
        if (dir == null) {
            return new Stats.Pids(0, 0);
        }
        long max = dir.number("pids.max");
        return new Stats.Pids(dir.number("pids.current"), max == CgroupDir.UNLIMITED ? 0 : max);
    }

    static Stats.Blkio blkio(CgroupDir dir) throws CgroupException {
        if (dir == null) {
            return new Stats.Blkio(List.of(), List.of());
        }
        return new Stats.Blkio(entries(dir, BYTES_FILES), entries(dir, IOS_FILES));
    }

    /** Lines "8:0 Read 4096" of the first of {@code files} that exists; the closing "Total" line is skipped. */
    private static List<Stats.BlkioEntry> entries(CgroupDir dir, List<String> files) throws CgroupException {
        for (String file : files) {
            if (!dir.has(file)) {
                continue;
            }
            List<Stats.BlkioEntry> out = new ArrayList<>();
            for (String line : dir.lines(file)) {
                String[] f = line.split("\\s+");
                String[] dev = f[0].split(":");
                if (f.length == 3 && dev.length == 2) {
                    out.add(new Stats.BlkioEntry(Long.parseLong(dev[0]), Long.parseLong(dev[1]), f[1],
                            CgroupDir.parse(dir.file(file), f[2])));
                }
            }
            return out;
        }
        return List.of();
    }

    static Map<String, Stats.Hugetlb> hugetlb(CgroupDir dir) throws CgroupException {
        Map<String, Stats.Hugetlb> out = new LinkedHashMap<>();
        for (String size : Hugetlb.pageSizes()) {
            String p = "hugetlb." + size + ".";
            out.put(size, new Stats.Hugetlb(dir.number(p + "usage_in_bytes"), dir.number(p + "max_usage_in_bytes"),
                    dir.number(p + "failcnt")));
        }
        return out;
    }
}
