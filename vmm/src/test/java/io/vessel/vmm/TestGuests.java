package io.vessel.vmm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Builds and locates the project's own test guest (native/guests: ELF and bzImage) for the VM tests. */
public final class TestGuests {
    private static final Path DIR = Path.of("..", "native", "guests").toAbsolutePath().normalize();
    private static Path elf;

    private TestGuests() {
    }

    /** The test guest ELF, built with make/gcc if needed. */
    public static synchronized Path elf() throws IOException, InterruptedException {
        if (elf == null) {
            Process p = new ProcessBuilder("make", "-s", "-C", DIR.toString()).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new IOException("building the test guest in " + DIR + " failed (make exit " + p.exitValue() + ")");
            }
            elf = DIR.resolve("test-guest.elf");
        }
        return elf;
    }

    /** The same program as a bzImage (boot protocol 2.15, 64-bit entry 0x200 into the protected-mode part). */
    public static Path bzImage() throws IOException, InterruptedException {
        return elf().resolveSibling("test-guest.bzImage");
    }

    public static void assumeKvm() {
        assumeTrue(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")),
                "/dev/kvm is not accessible here: the VM tests need KVM");
    }

    /** FNV-1a 32-bit, as the guest computes it. */
    static int fnv1a(byte[] data) {
        int h = 0x811C9DC5;
        for (byte b : data) {
            h ^= b & 0xFF;
            h *= 16777619;
        }
        return h;
    }
}
