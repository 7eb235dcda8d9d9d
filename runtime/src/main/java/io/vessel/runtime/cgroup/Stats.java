package io.vessel.runtime.cgroup;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of a cgroup's usage, shaped after the "data" of runc's {@code events --stats}. Every
 * number is an unsigned 64-bit value (times in nanoseconds, sizes in bytes); "no limit" is all ones
 * (-1 as a Java long), which {@link #toJson()} writes as 18446744073709551615, as runc does.
 */
public record Stats(Cpu cpu, Memory memory, Pids pids, Blkio blkio, Map<String, Hugetlb> hugetlb) {

    public Stats {
        hugetlb = Map.copyOf(hugetlb);
    }

    public record Cpu(CpuUsage usage, Throttling throttling) {
    }

    /** CPU time in nanoseconds: in total, per CPU (v1 only), in the kernel and in user space. */
    public record CpuUsage(long total, List<Long> percpu, long kernel, long user) {
        public CpuUsage {
            percpu = List.copyOf(percpu);
        }
    }

    /** CFS bandwidth enforcement: periods elapsed, periods throttled, nanoseconds throttled. */
    public record Throttling(long periods, long throttledPeriods, long throttledTime) {
    }

    /**
     * Memory: page cache, memory use, memory+swap use (on v2 too, summed, to keep v1's meaning), and
     * the controller's own statistics file as it is.
     */
    public record Memory(long cache, MemoryEntry usage, MemoryEntry swap, Map<String, Long> raw) {
        public Memory {
            raw = Map.copyOf(raw);
        }
    }

    /** One memory counter: its limit, current use, highest use, and how often the limit was hit. */
    public record MemoryEntry(long limit, long usage, long max, long failcnt) {
    }

    /** Tasks now, and the limit (0 for none, as runc reports it). */
    public record Pids(long current, long limit) {
    }

    public record Blkio(List<BlkioEntry> ioServiceBytesRecursive, List<BlkioEntry> ioServicedRecursive) {
        public Blkio {
            ioServiceBytesRecursive = List.copyOf(ioServiceBytesRecursive);
            ioServicedRecursive = List.copyOf(ioServicedRecursive);
        }
    }

    /** One device's count for one kind of operation ("Read", "Write", ...). */
    public record BlkioEntry(long major, long minor, String op, long value) {
    }

    /** One huge page size: bytes in use, the highest use (v1 only) and how often the limit was hit. */
    public record Hugetlb(long usage, long max, long failcnt) {
    }

    /** The "data" object of a stats event, as maps and lists for {@code io.vessel.json.Json.write}. */
    public Map<String, Object> toJson() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("cpu", obj("usage", obj("total", u64(cpu.usage.total), "percpu", u64s(cpu.usage.percpu),
                        "kernel", u64(cpu.usage.kernel), "user", u64(cpu.usage.user)),
                "throttling", obj("periods", u64(cpu.throttling.periods),
                        "throttledPeriods", u64(cpu.throttling.throttledPeriods),
                        "throttledTime", u64(cpu.throttling.throttledTime))));
        Map<String, Object> raw = new LinkedHashMap<>();
        memory.raw.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> raw.put(e.getKey(), u64(e.getValue())));
        data.put("memory", obj("cache", u64(memory.cache), "usage", entry(memory.usage), "swap", entry(memory.swap),
                "raw", raw));
        data.put("pids", obj("current", u64(pids.current), "limit", u64(pids.limit)));
        data.put("blkio", obj("ioServiceBytesRecursive", entries(blkio.ioServiceBytesRecursive),
                "ioServicedRecursive", entries(blkio.ioServicedRecursive)));
        Map<String, Object> pages = new LinkedHashMap<>();
        hugetlb.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> pages.put(e.getKey(),
                obj("usage", u64(e.getValue().usage), "max", u64(e.getValue().max),
                        "failcnt", u64(e.getValue().failcnt))));
        data.put("hugetlb", pages);
        return data;
    }

    private static Map<String, Object> entry(MemoryEntry e) {
        return obj("limit", u64(e.limit), "usage", u64(e.usage), "max", u64(e.max), "failcnt", u64(e.failcnt));
    }

    private static List<Object> entries(List<BlkioEntry> list) {
        List<Object> out = new ArrayList<>();
        for (BlkioEntry e : list) {
            out.add(obj("major", u64(e.major), "minor", u64(e.minor), "op", e.op, "value", u64(e.value)));
        }
        return out;
    }

    private static Map<String, Object> obj(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    private static List<Object> u64s(List<Long> values) {
        return values.stream().map(Stats::u64).toList();
    }

    /** A long read as unsigned: past Long.MAX_VALUE it becomes a BigInteger. */
    static Object u64(long v) {
        return v >= 0 ? Long.valueOf(v) : new BigInteger(Long.toUnsignedString(v));
    }
}
