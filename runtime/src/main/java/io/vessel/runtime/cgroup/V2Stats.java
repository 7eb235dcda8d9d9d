package io.vessel.runtime.cgroup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link Stats} read from a cgroup v2 directory; files of controllers not enabled there read as zeros. */
final class V2Stats {
    private static final long NANOS_PER_MICRO = 1000;
    /** io.stat keys and the op names runc's blkio entries use for them. */
    private static final Map<String, String> BYTES_OPS = Map.of("rbytes", "Read", "wbytes", "Write",
            "dbytes", "Discard");
    private static final Map<String, String> IOS_OPS = Map.of("rios", "Read", "wios", "Write", "dios", "Discard");

    private V2Stats() {
    }

    static Stats read(CgroupDir dir) throws CgroupException {
        return new Stats(cpu(dir), memory(dir), V1Stats.pids(dir), blkio(dir), hugetlb(dir));
    }

    static Stats.Cpu cpu(CgroupDir dir) throws CgroupException {
        Map<String, Long> s = dir.keyed("cpu.stat");
        return new Stats.Cpu(new Stats.CpuUsage(micros(s, "usage_usec"), List.of(), micros(s, "system_usec"),
                micros(s, "user_usec")), new Stats.Throttling(s.getOrDefault("nr_periods", 0L),
                s.getOrDefault("nr_throttled", 0L), micros(s, "throttled_usec")));
    }

    private static long micros(Map<String, Long> stat, String key) {
        return stat.getOrDefault(key, 0L) * NANOS_PER_MICRO;
    }

    /** Memory, and memory+swap summed from the two v2 counters, keeping v1's meaning of "swap". */
    static Stats.Memory memory(CgroupDir dir) throws CgroupException {
        Map<String, Long> raw = dir.keyed("memory.stat");
        long limit = dir.number("memory.max"), usage = dir.number("memory.current"), peak = dir.number("memory.peak");
        long swapLimit = dir.number("memory.swap.max"), swapUsage = dir.number("memory.swap.current");
        Stats.MemoryEntry memory = new Stats.MemoryEntry(limit, usage, peak,
                dir.keyed("memory.events").getOrDefault("max", 0L));
        Stats.MemoryEntry swap = new Stats.MemoryEntry(
                limit == CgroupDir.UNLIMITED || swapLimit == CgroupDir.UNLIMITED ? CgroupDir.UNLIMITED : limit + swapLimit,
                usage + swapUsage, peak + dir.number("memory.swap.peak"),
                dir.keyed("memory.swap.events").getOrDefault("max", 0L));
        return new Stats.Memory(raw.getOrDefault("file", 0L), memory, swap, raw);
    }

    /** io.stat lines "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
    static Stats.Blkio blkio(CgroupDir dir) throws CgroupException {
        List<Stats.BlkioEntry> bytes = new ArrayList<>();
        List<Stats.BlkioEntry> ios = new ArrayList<>();
        for (String line : dir.lines("io.stat")) {
            String[] f = line.split("\\s+");
            String[] dev = f[0].split(":");
            if (dev.length != 2) {
                continue;
            }
            for (int i = 1; i < f.length; i++) {
                String[] kv = f[i].split("=", 2);
                if (kv.length != 2) {
                    continue;
                }
                long major = Long.parseLong(dev[0]), minor = Long.parseLong(dev[1]);
                if (BYTES_OPS.containsKey(kv[0])) {
                    bytes.add(new Stats.BlkioEntry(major, minor, BYTES_OPS.get(kv[0]),
                            CgroupDir.parse(dir.file("io.stat"), kv[1])));
                } else if (IOS_OPS.containsKey(kv[0])) {
                    ios.add(new Stats.BlkioEntry(major, minor, IOS_OPS.get(kv[0]),
                            CgroupDir.parse(dir.file("io.stat"), kv[1])));
                }
            }
        }
        return new Stats.Blkio(bytes, ios);
    }

    /** Per page size: hugetlb.2MB.current, no highest use on v2, and hugetlb.2MB.events "max". */
    static Map<String, Stats.Hugetlb> hugetlb(CgroupDir dir) throws CgroupException {
        Map<String, Stats.Hugetlb> out = new LinkedHashMap<>();
        for (String size : Hugetlb.pageSizes()) {
            String p = "hugetlb." + size + ".";
            if (dir.has(p + "current")) {
                out.put(size, new Stats.Hugetlb(dir.number(p + "current"), 0,
                        dir.keyed(p + "events").getOrDefault("max", 0L)));
            }
        }
        return out;
    }
}
