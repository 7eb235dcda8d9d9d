package io.vessel.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code vessel vm run} through the CLI's own entry point, booting the project's test guest on the
 * real /dev/kvm: flags to the VMM, the command after {@code --} on the kernel command line, the
 * console on stdout, the guest's status as the command's own.
 */
class VmCommandTest {
    private static final Path GUESTS = Path.of("..", "native", "guests").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    record Result(int exit, String out, String err) {
    }

    @BeforeAll
    static void guest() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")),
                "/dev/kvm is not accessible here: vessel vm run needs KVM");
        Process p = new ProcessBuilder("make", "-s", "-C", GUESTS.toString()).inheritIO().start();
        assertEquals(0, p.waitFor(), "building the test guest failed");
    }

    private static Result vessel(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(List.of(args));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void runsTheGuestWithItsDiskAndCommandAndExitsWithItsStatus() throws IOException {
        byte[] data = new byte[64 * 512];
        new Random(3).nextBytes(data);
        Path disk = Files.write(tmp.resolve("disk.img"), data);
        String sum = Integer.toHexString(fnv1a(java.util.Arrays.copyOf(data, 2048)));
        Result r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.elf").toString(), "--cpus", "2",
                "--memory", "64m", "--disk", disk + ",ro", "--cmdline", "vessel-test cpus=2 blk_sectors=40 blk_sum=" + sum,
                "--", "/bin/true", "hello world");
        assertEquals(0, r.exit, r.out + r.err);
        assertTrue(r.out.contains("cmdline: vessel-test cpus=2 blk_sectors=40 blk_sum=" + sum
                + " root=/dev/vda ro virtio_mmio.device=4K@0xd0000000:5 -- /bin/true \"hello world\""), r.out);
        assertTrue(r.out.contains("ap up: apic id 1"), r.out);
        assertTrue(r.out.contains("ok   writes to a read-only disk fail with IOERR"), r.out);
        assertTrue(r.out.contains("RESULT PASS"), r.out);
        assertArrayEquals(data, Files.readAllBytes(disk));
    }

    @Test
    void aFailingGuestsStatusIsTheCommandsStatus() {
        Result r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.bzImage").toString(), "--memory", "32m",
                "--cmdline", "vessel-test initrd_sum=1");
        assertEquals(1, r.exit, r.out + r.err);
        assertTrue(r.out.contains("RESULT FAIL"), r.out);
    }

    @Test
    void badInputIsAClearErrorWithStatus125() {
        Result r = vessel("vm", "run", "--kernel", tmp.resolve("missing").toString());
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("does not exist"), r.err);
        r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.elf").toString(), "--memory", "1m");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("memory too small"), r.err);
        r = vessel("vm", "run", "--kernel", GUESTS.resolve("test-guest.elf").toString(), "--disk", "x.img,fast");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("unknown option \"fast\""), r.err);
        r = vessel("vm", "run", "--cpus", "two");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("--cpus \"two\""), r.err);
        r = vessel("vm", "run", "--bogus");
        assertEquals(125, r.exit);
        assertTrue(r.err.contains("unknown flag: --bogus"), r.err);
    }

    private static int fnv1a(byte[] data) {
        int h = 0x811C9DC5;
        for (byte b : data) {
            h ^= b & 0xFF;
            h *= 16777619;
        }
        return h;
    }
}
