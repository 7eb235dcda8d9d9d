package io.vessel.vmm;

import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.boot.Layout;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * virtio-mmio devices in a running VM: the test guest's driver (what Linux's virtio_mmio,
 * virtio_ring and virtio_blk do: status sequence, VERSION_1 + INDIRECT_DESC + EVENT_IDX, several
 * requests in flight, one indirect, completion by interrupt) against the real transport, block
 * and rng devices, notified through ioeventfds and interrupting through irqfds.
 */
class VirtioMmioTest {
    private static final long MEMORY = 64L << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int SECTOR = 512;
    private static final int DISK_SECTORS = 128;
    /** The sectors the guest writes its pattern to (see native/guests/virtio.c). */
    private static final int PATTERN_FIRST = 8, PATTERN_SECTORS = 8;

    @TempDir
    Path tmp;

    @BeforeAll
    static void kvm() {
        TestGuests.assumeKvm();
    }

    private Path disk() throws Exception {
        byte[] data = new byte[DISK_SECTORS * SECTOR];
        new Random(7).nextBytes(data);
        return Files.write(tmp.resolve("disk.img"), data);
    }

    /** The guest's pattern for byte {@code offset} of the disk. */
    private static byte pattern(long offset) {
        return (byte) (offset * 13 + (offset >>> 9));
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private record Run(VmExit exit, String console, List<AttachedDevice> devices) {
    }

    private static Run run(Path disk, boolean readOnly, String extra) throws Exception {
        return run(BootSource.of(TestGuests.elf(), null, ""), disk, readOnly, extra);
    }

    private static Run run(BootSource kernel, Path disk, boolean readOnly, String extra) throws Exception {
        byte[] image = Files.readAllBytes(disk);
        String cmdline = "vessel-test blk_sectors=" + Integer.toHexString(DISK_SECTORS) + " blk_sum="
                + Integer.toHexString(TestGuests.fnv1a(Arrays.copyOf(image, 4 * SECTOR))) + extra;
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        BootSource source = new BootSource(kernel.kernel(), null, cmdline, kernel.preferPvh(), 0);
        VmConfig config = VmConfig.of(source, 1, MEMORY, console)
                .withDevices(List.of(new DeviceConfig.Block(disk, readOnly, "vessel-disk-1"), new DeviceConfig.Rng()));
        try (Vm vm = Vm.create(config)) {
            vm.start();
            VmExit exit = vm.awaitExit(TIMEOUT);
            assertNotNull(exit, "the guest did not finish within " + TIMEOUT + "; console:\n" + console);
            return new Run(exit, console.toString(StandardCharsets.UTF_8), vm.devices());
        }
    }

    @Test
    void guestDriverReadsWritesAndFlushesTheDiskAndReadsTheRng() throws Exception {
        Path disk = disk();
        byte[] before = Files.readAllBytes(disk);
        Run r = run(disk, false, "");
        String c = r.console;
        assertTrue(c.contains("virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"), c);
        assertTrue(c.contains("virtio-blk at 0xd0000000 gsi 5"), c);
        assertTrue(c.contains("ok   device offers VERSION_1, INDIRECT_DESC and EVENT_IDX"), c);
        assertTrue(c.contains("ok   FEATURES_OK stuck"), c);
        assertTrue(c.contains("blk capacity " + DISK_SECTORS + " sectors"), c);
        assertTrue(c.contains("id \"vessel-disk-1\""), c);
        assertTrue(c.contains("ok   guest read what the host wrote (blk_sum=)"), c);
        assertTrue(c.contains("ok   four writes (one indirect) and a flush completed OK"), c);
        assertTrue(c.contains("ok   sectors 8-15 read back as written"), c);
        assertTrue(c.contains("ok   completions arrived by interrupt (used-buffer bit in InterruptStatus)"), c);
        assertTrue(c.contains("virtio-rng at 0xd0001000 gsi 6"), c);
        assertTrue(c.contains("ok   rng filled the buffer"), c);
        assertFalse(c.contains("FAIL"), c);
        assertEquals(new VmExit.GuestExit(0), r.exit, c);

        byte[] expected = before.clone();
        for (int o = PATTERN_FIRST * SECTOR; o < (PATTERN_FIRST + PATTERN_SECTORS) * SECTOR; o++) {
            expected[o] = pattern(o);
        }
        byte[] after = Files.readAllBytes(disk);
        assertEquals(sha256(expected), sha256(after), "the host file holds the guest's pattern and nothing else changed");
        assertArrayEquals(expected, after);
        String guestSum = Integer.toHexString(TestGuests.fnv1a(Arrays.copyOfRange(after, PATTERN_FIRST * SECTOR,
                (PATTERN_FIRST + PATTERN_SECTORS) * SECTOR)));
        assertTrue(c.contains("blk sectors 8-15 sum 0x" + guestSum), c);

        assertEquals(2, r.devices.size());
        assertEquals(Layout.VIRTIO_MMIO_BASE, r.devices.get(0).mmioBase());
        assertEquals(Layout.VIRTIO_FIRST_GSI + 1, r.devices.get(1).gsi());
    }

    @Test
    void theBzImageGuestDrivesTheDiskToo() throws Exception {
        Path disk = disk();
        Run r = run(BootSource.of(TestGuests.bzImage(), null, ""), disk, false, " bzimage");
        assertTrue(r.console.contains("ok   booted from the bzImage"), r.console);
        assertTrue(r.console.contains("ok   guest read what the host wrote (blk_sum=)"), r.console);
        assertTrue(r.console.contains("ok   sectors 8-15 read back as written"), r.console);
        assertFalse(r.console.contains("FAIL"), r.console);
        assertEquals(new VmExit.GuestExit(0), r.exit, r.console);
        byte[] after = Files.readAllBytes(disk);
        for (int o = PATTERN_FIRST * SECTOR; o < (PATTERN_FIRST + PATTERN_SECTORS) * SECTOR; o++) {
            assertEquals(pattern(o), after[o], "disk byte " + o);
        }
    }

    @Test
    void aReadOnlyDiskRefusesTheGuestsWrites() throws Exception {
        Path disk = disk();
        byte[] before = Files.readAllBytes(disk);
        Run r = run(disk, true, "");
        assertTrue(r.console.contains("sectors, read-only"), r.console);
        assertTrue(r.console.contains("ok   writes to a read-only disk fail with IOERR"), r.console);
        assertTrue(r.console.contains("ok   guest read what the host wrote (blk_sum=)"), r.console);
        assertEquals(new VmExit.GuestExit(0), r.exit, r.console);
        assertArrayEquals(before, Files.readAllBytes(disk), "a read-only disk changed");
    }

    @Test
    void aMissingDiskImageIsAClearErrorAndLeavesNothing() throws Exception {
        Path missing = tmp.resolve("nope.img");
        long fds = openFds();
        VmConfig config = VmConfig.of(BootSource.of(TestGuests.elf(), null, "vessel-test"), 1, MEMORY,
                new ByteArrayOutputStream()).withDevices(List.of(new DeviceConfig.Rng(), new DeviceConfig.Block(missing, false)));
        Exception e = assertThrows(java.io.IOException.class, () -> Vm.create(config));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertEquals(fds, openFds(), "file descriptors leaked");
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("vm-events") && t.isAlive()),
                "the event loop thread was left running");
    }

    private static long openFds() throws Exception {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
