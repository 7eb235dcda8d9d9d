package io.vessel.vmm.api;

import io.vessel.vmm.DeviceConfig;
import io.vessel.vmm.TestGuests;
import io.vessel.vmm.Vm;
import io.vessel.vmm.VmConfig;
import io.vessel.vmm.VmExit;
import io.vessel.vmm.boot.BootSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The ./vessel-vmm launcher with its AOT cache, its VESSEL_TRACE phases, and the test guest's
 * parts that bench/vm-boot.sh relies on: a newline on the console at the first instruction, and
 * blk_bench reading a whole disk in large requests.
 */
class VmmLauncherTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final long GUEST_SECONDS = 120;
    private static final Duration TIMEOUT = Duration.ofSeconds(GUEST_SECONDS);

    @TempDir
    Path tmp;

    @Test
    void launcherBootsTheTestGuestFromItsAotCacheAndTracesThePhases() throws Exception {
        TestGuests.assumeKvm();
        Path cache = REPO.resolve("build/vessel-vmm.aot");
        assumeTrue(Files.isRegularFile(REPO.resolve("build/lib/vessel-vmm.jar")) && Files.isRegularFile(cache),
                "vessel-vmm is not built with its AOT cache here (make build)");
        Path config = tmp.resolve("vm.json");
        Files.writeString(config, "{\"boot-source\": {\"kernel_image_path\": \"" + TestGuests.elf() + "\", \"boot_args\": \"vessel-test\"},"
                + " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 32}}");
        ProcessBuilder pb = new ProcessBuilder(REPO.resolve("vessel-vmm").toString(), "--no-api", "--config-file", config.toString())
                .redirectOutput(tmp.resolve("stdout").toFile()).redirectError(tmp.resolve("stderr").toFile());
        // AOTMode=on: the JVM refuses to start unless it can use the cache, so a stale or mismatched one fails here
        pb.environment().putAll(Map.of("VESSEL_TRACE", "1", "VESSEL_VMM_JAVA_OPTS", "-XX:AOTMode=on"));
        Process p = pb.start();
        try {
            assertTrue(p.waitFor(GUEST_SECONDS, TimeUnit.SECONDS), "vessel-vmm did not end");
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
        String out = Files.readString(tmp.resolve("stdout"), StandardCharsets.UTF_8);
        String err = Files.readString(tmp.resolve("stderr"), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), err + out);
        assertTrue(out.startsWith("\n"), "the guest's first output is a newline: " + out);
        assertTrue(out.contains("RESULT PASS"), out);
        int previous = -1;
        for (String phase : List.of(" ms main", " ms /dev/kvm opened", " ms kernel and ACPI tables loaded",
                " ms vCPU threads started", " ms guest ended: GuestExit[status=0]", " ms VM closed")) {
            int at = err.indexOf(phase);
            assertTrue(at > previous, "phase '" + phase.strip() + "' traced in order:\n" + err);
            previous = at;
        }
        assertTrue(err.contains(" ms guest's first instruction (boot timer)"), err);
    }

    @Test
    void blockBenchmarkReadsTheWholeDiskIncludingAShortLastRequest() throws Exception {
        TestGuests.assumeKvm();
        // 6 requests of 512 KiB and one of 64 KiB: two batches of at most 4, the last one short
        long size = 3 * 1024 * 1024 + 64 * 1024;
        Path disk = tmp.resolve("disk.img");
        try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(size);
        }
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        BootSource source = new BootSource(TestGuests.elf(), null, "vessel-test blk_bench", true, 0);
        VmConfig config = VmConfig.of(source, 1, 32L << 20, console)
                .withDevices(List.of(new DeviceConfig.Block(disk, true, "bench")));
        try (Vm vm = Vm.create(config)) {
            vm.start();
            VmExit exit = vm.awaitExit(TIMEOUT);
            String c = console.toString(StandardCharsets.UTF_8);
            assertNotNull(exit, "the guest did not finish; console:\n" + c);
            assertTrue(c.contains("BLK BENCH START\n"), c);
            assertTrue(c.contains("BLK BENCH DONE " + size + " bytes\n"), c);
            assertTrue(c.contains("ok   every benchmark read completed OK"), c);
            assertEquals(new VmExit.GuestExit(0), exit, c);
        }
    }
}
