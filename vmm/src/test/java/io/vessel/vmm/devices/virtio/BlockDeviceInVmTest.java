package io.vessel.vmm.devices.virtio;

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
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-blk served by its I/O workers inside a real VM: the test guest's block checks (reads,
 * writes, an indirect chain, a flush, GET_ID) and its benchmark (a whole disk in 512 KiB reads, 4
 * in flight, completion seen by polling the used ring) pass, and the workers end with the VM.
 */
class BlockDeviceInVmTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long MEMORY = 64L << 20;
    private static final int SECTOR = 512;
    private static final String WORKER_PREFIX = "virtio-blk ";

    @TempDir
    Path tmp;

    private record Run(VmExit exit, String console, List<Thread> workers) {
    }

    private static Run run(String cmdline, DeviceConfig.Block disk) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VmConfig config = VmConfig.of(new BootSource(TestGuests.elf(), null, cmdline, true, 0), 1, MEMORY, console)
                .withDevices(List.of(disk));
        List<Thread> workers;
        VmExit exit;
        try (Vm vm = Vm.create(config)) {
            vm.start();
            exit = vm.awaitExit(TIMEOUT);
            BlockDevice blk = (BlockDevice) vm.devices().get(0).transport().device();
            workers = blk.workers();
            assertEquals(BlockDevice.DEFAULT_WORKERS, workers.size(), "the disk's workers while the VM exists");
            for (Thread t : workers) {
                assertTrue(t.isAlive(), t.getName() + " is not running before the VM closes");
            }
        }
        return new Run(exit, console.toString(StandardCharsets.UTF_8), workers);
    }

    private static void assertWorkersGone(Run r) {
        for (Thread t : r.workers()) {
            assertFalse(t.isAlive(), t.getName() + " outlived its VM");
        }
        List<String> left = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith(WORKER_PREFIX)).toList();
        assertTrue(left.isEmpty(), "disk worker threads left: " + left);
    }

    @Test
    void theGuestsBlockChecksPassAndTheWorkersEndWithTheVm() throws Exception {
        TestGuests.assumeKvm();
        int sectors = 16;
        byte[] image = new byte[sectors * SECTOR];
        new Random(7).nextBytes(image);
        Path disk = Files.write(tmp.resolve("disk.img"), image);
        String cmdline = "vessel-test blk_sectors=" + Integer.toHexString(sectors) + " blk_sum="
                + Integer.toHexString(TestGuests.fnv1a(Arrays.copyOf(image, 4 * SECTOR)));
        Run r = run(cmdline, new DeviceConfig.Block(disk, false, "workers"));
        assertEquals(new VmExit.GuestExit(0), r.exit(), r.console());
        assertTrue(r.console().contains("ok   guest read what the host wrote (blk_sum=)"), r.console());
        assertTrue(r.console().contains("ok   four writes (one indirect) and a flush completed OK"), r.console());
        assertWorkersGone(r);
    }

    @Test
    void theGuestsBenchmarkReadsTheWholeDiskWithRequestsInFlight() throws Exception {
        TestGuests.assumeKvm();
        int bytes = 4 << 20;
        byte[] image = new byte[bytes];
        new Random(8).nextBytes(image);
        Path disk = Files.write(tmp.resolve("bench.img"), image);
        Run r = run("vessel-test blk_bench", new DeviceConfig.Block(disk, true, "bench"));
        assertEquals(new VmExit.GuestExit(0), r.exit(), r.console());
        assertTrue(r.console().contains("BLK BENCH DONE " + bytes + " bytes"), r.console());
        assertTrue(r.console().contains("ok   every benchmark read completed OK"), r.console());
        assertWorkersGone(r);
    }
}
