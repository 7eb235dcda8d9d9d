package io.vessel.runtime.cgroup;

import io.vessel.json.JsonNode;
import io.vessel.runtime.spec.Resources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The v2 controllers' conversions and files. This host's cgroup2 offers no memory, cpu, io or pids
 * controller, so these run against a directory of plain files standing in for a cgroup; what the
 * cgroup2 here does support (freezing, device programs, hugetlb) is tested for real in
 * {@link V2ControlGroupTest}.
 */
class V2ControllersTest {
    @TempDir
    Path tmp;

    static Resources resources(String json) {
        return Resources.from(JsonNode.parse("config.json", json));
    }

    CgroupDir fakeCgroup(String... files) throws IOException {
        for (String f : files) {
            Files.writeString(tmp.resolve(f), "");
        }
        return new CgroupDir(tmp);
    }

    String read(String file) throws IOException {
        return Files.readString(tmp.resolve(file));
    }

    @Test
    void sharesAndBlkioWeightsMapOntoV2Ranges() {
        assertEquals(1, V2Cpu.weightFromShares(2));
        assertEquals(39, V2Cpu.weightFromShares(1024));
        assertEquals(10000, V2Cpu.weightFromShares(262144));
        assertEquals(1, V2Io.weightFromBlkio(10));
        assertEquals(4950, V2Io.weightFromBlkio(500));
        assertEquals(10000, V2Io.weightFromBlkio(1000));
    }

    @Test
    void swapIsMemoryPlusSwapInOciButSwapAloneInV2() throws CgroupException {
        assertEquals("max", V2Memory.swapMax(100L, -1L));
        assertEquals("50", V2Memory.swapMax(100L, 150L));
        assertEquals("0", V2Memory.swapMax(100L, 100L));
        assertNull(V2Memory.swapMax(100L, null));
        var e = assertThrows(CgroupException.class, () -> V2Memory.swapMax(null, 150L));
        assertTrue(e.getMessage().contains("needs a memory limit"), e.getMessage());
        assertThrows(CgroupException.class, () -> V2Memory.swapMax(200L, 150L));
    }

    @Test
    void memoryFilesOnV2() throws IOException {
        CgroupDir dir = fakeCgroup(V2Memory.MAX, V2Memory.LOW, V2Memory.SWAP_MAX);
        new V2Memory().apply(dir, resources("""
                {"memory": {"limit": 1048576, "reservation": 524288, "swap": 3145728, "swappiness": 10}}"""));
        assertEquals("1048576", read(V2Memory.MAX));
        assertEquals("524288", read(V2Memory.LOW));
        assertEquals("2097152", read(V2Memory.SWAP_MAX));
    }

    @Test
    void cpuMaxKeepsWhatIsNotGiven() throws IOException {
        CgroupDir dir = fakeCgroup(V2Cpu.WEIGHT, V2Cpu.BURST);
        Files.writeString(tmp.resolve(V2Cpu.MAX), "max 100000\n");
        assertEquals("50000 100000", V2Cpu.max(dir, 50000L, null));
        assertEquals("max 20000", V2Cpu.max(dir, null, 20000L));
        assertEquals("max 30000", V2Cpu.max(dir, -1L, 30000L));
        new V2Cpu().apply(dir, resources("""
                {"cpu": {"shares": 1024, "quota": 25000, "period": 50000}}"""));
        assertEquals("39", read(V2Cpu.WEIGHT));
        assertTrue(read(V2Cpu.MAX).startsWith("25000 50000"));
        var e = assertThrows(CgroupException.class, () -> new V2Cpu().apply(dir, resources("""
                {"cpu": {"realtimeRuntime": 1000}}""")));
        assertTrue(e.getMessage().contains("cgroup v1"), e.getMessage());
    }

    @Test
    void ioMaxHasOneLinePerDeviceAndWeightsConvert() throws IOException {
        Resources r = resources("""
                {"blockIO": {"weight": 500,
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                  "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2000}],
                  "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 0}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}]}}""");
        assertEquals(List.of("8:0 rbps=1000 wbps=2000 wiops=30", "8:16 riops=max"), V2Io.maxLines(r.blockIO()));
        CgroupDir dir = fakeCgroup(V2Io.WEIGHT);
        new V2Io().apply(dir, resources("""
                {"blockIO": {"weight": 500}}"""));
        assertEquals("4950", read(V2Io.WEIGHT));
        CgroupDir bfq = fakeCgroup(V2Io.BFQ_WEIGHT);
        new V2Io().apply(bfq, resources("""
                {"blockIO": {"weight": 500}}"""));
        assertEquals("500", read(V2Io.BFQ_WEIGHT), "BFQ takes blkio's own range");
    }

    @Test
    void pidsAndHugetlbFiles() throws IOException {
        CgroupDir dir = fakeCgroup(Pids.MAX, "hugetlb.2MB.max");
        new Pids().apply(dir, resources("""
                {"pids": {"limit": -1}, "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"""));
        assertEquals("max", read(Pids.MAX));
        Hugetlb.V2.apply(dir, resources("""
                {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"""));
        assertEquals("4194304", read("hugetlb.2MB.max"));
        assertThrows(CgroupException.class, () -> Hugetlb.V2.apply(dir, resources("""
                {"hugepageLimits": [{"pageSize": "../2MB", "limit": 1}]}""")));
    }

    @Test
    void unifiedKeysAreFileNamesOnly() throws IOException {
        CgroupDir dir = fakeCgroup("memory.high");
        new Unified().apply(dir, resources("""
                {"unified": {"memory.high": "12345"}}"""));
        assertEquals("12345", read("memory.high"));
        for (String bad : List.of("../memory.high", "a/memory.high", "memory..high", "nodot", ".hidden")) {
            var e = assertThrows(CgroupException.class, () -> new Unified().apply(dir,
                    new Resources(List.of(), null, null, null, null, List.of(), java.util.Map.of(bad, "1"))));
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
        assertEquals(java.util.Set.of("memory", "hugetlb"), Unified.controllers(resources("""
                {"unified": {"memory.high": "1", "hugetlb.2MB.max": "2", "cgroup.freeze": "0"}}""")));
    }

    @Test
    void writeErrorsNameFileAndValue() {
        CgroupDir dir = new CgroupDir(tmp.resolve("missing"));
        var e = assertThrows(CgroupException.class, () -> dir.write("memory.max", "10"));
        assertEquals("cgroup: writing 10 to " + tmp.resolve("missing/memory.max") + ": No such file or directory",
                e.getMessage());
    }
}
