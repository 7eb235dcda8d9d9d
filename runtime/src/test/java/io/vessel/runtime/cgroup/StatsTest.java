package io.vessel.runtime.cgroup;

import io.vessel.json.Json;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatsTest {

    @Test
    void jsonHasRuncsShapeAndUnsignedNumbers() {
        Stats s = new Stats(
                new Stats.Cpu(new Stats.CpuUsage(30, List.of(10L, 20L), 5, 25), new Stats.Throttling(1, 2, 3)),
                new Stats.Memory(7, new Stats.MemoryEntry(CgroupDir.UNLIMITED, 100, 200, 0),
                        new Stats.MemoryEntry(CgroupDir.UNLIMITED, 100, 200, 0), Map.of("cache", 7L, "rss", 93L)),
                new Stats.Pids(3, 0),
                new Stats.Blkio(List.of(new Stats.BlkioEntry(254, 0, "Read", 4096)), List.of()),
                Map.of("2MB", new Stats.Hugetlb(0, 0, 0)));
        String json = Json.write(s.toJson());
        assertEquals("{\"cpu\":{\"usage\":{\"total\":30,\"percpu\":[10,20],\"kernel\":5,\"user\":25},"
                + "\"throttling\":{\"periods\":1,\"throttledPeriods\":2,\"throttledTime\":3}},"
                + "\"memory\":{\"cache\":7,\"usage\":{\"limit\":18446744073709551615,\"usage\":100,\"max\":200,"
                + "\"failcnt\":0},\"swap\":{\"limit\":18446744073709551615,\"usage\":100,\"max\":200,\"failcnt\":0},"
                + "\"raw\":{\"cache\":7,\"rss\":93}},\"pids\":{\"current\":3,\"limit\":0},"
                + "\"blkio\":{\"ioServiceBytesRecursive\":[{\"major\":254,\"minor\":0,\"op\":\"Read\",\"value\":4096}],"
                + "\"ioServicedRecursive\":[]},\"hugetlb\":{\"2MB\":{\"usage\":0,\"max\":0,\"failcnt\":0}}}", json);
    }

    @Test
    void hugePageSizesAreNamedAsTheControllerNamesThem() {
        assertEquals("2MB", Hugetlb.sizeName(2048));
        assertEquals("1GB", Hugetlb.sizeName(1048576));
        assertEquals("64KB", Hugetlb.sizeName(64));
        assertTrue(Hugetlb.pageSizes().stream().allMatch(p -> p.matches("[0-9]+[KMG]B")));
    }
}
