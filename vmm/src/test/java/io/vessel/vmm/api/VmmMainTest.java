package io.vessel.vmm.api;

import io.vessel.vmm.TestGuests;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vessel-vmm process: started like Firecracker, driven over its socket or from a config file. */
class VmmMainTest {
    private static final long GUEST_SECONDS = 120;

    @TempDir
    Path tmp;

    private Process launch(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), VmmMain.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectOutput(tmp.resolve("stdout").toFile()).redirectError(tmp.resolve("stderr").toFile()).start();
    }

    /** vessel-vmm from a configuration file: the test guest with {@code bootArgs}, {@code vcpus} and 32 MiB. */
    private Process launchGuest(String bootArgs, int vcpus) throws IOException, InterruptedException {
        Path config = Files.writeString(tmp.resolve("vm.json"), """
                {"boot-source": {"kernel_image_path": "%s", "boot_args": "%s"},
                 "machine-config": {"vcpu_count": %d, "mem_size_mib": 32}}
                """.formatted(TestGuests.elf(), bootArgs, vcpus));
        return launch("--no-api", "--config-file", config.toString());
    }

    private String out(String name) throws IOException {
        return Files.readString(tmp.resolve(name), StandardCharsets.UTF_8);
    }

    private int await(Process p) throws Exception {
        try {
            assertTrue(p.waitFor(GUEST_SECONDS, TimeUnit.SECONDS), "vessel-vmm did not end; stdout:\n" + out("stdout"));
            return p.exitValue();
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
    }

    @Test
    void bootsThroughTheApiSocketAndExitsWhenTheGuestPowersOff() throws Exception {
        TestGuests.assumeKvm();
        Path kernel = TestGuests.elf();
        Path socket = tmp.resolve("fc.sock");
        Process p = launch("--api-sock", socket.toString(), "--id", "vm1");
        try {
            for (int i = 0; i < 300 && !Files.exists(socket) && p.isAlive(); i++) {
                Thread.sleep(50);
            }
            assertTrue(Files.exists(socket), "no API socket; stderr:\n" + out("stderr"));
            try (RawHttp http = new RawHttp(socket)) {
                assertTrue(http.send("GET", "/", null).body().contains("\"id\":\"vm1\""));
                assertEquals(204, http.send("PUT", "/boot-source", "{\"kernel_image_path\": \"" + kernel
                        + "\", \"boot_args\": \"vessel-test poweroff\"}").status());
                assertEquals(204, http.send("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 32}").status());
                assertEquals(204, http.send("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status());
            }
            assertEquals(0, await(p), "stderr:\n" + out("stderr"));
        } finally {
            p.destroyForcibly();
        }
        assertTrue(out("stdout").contains("RESULT PASS"), out("stdout"));
        assertTrue(out("stdout").contains("powering off through the ACPI sleep control register"), out("stdout"));
        assertFalse(Files.exists(socket), "the API socket was left behind");
    }

    @Test
    void aConfigFileStartsAtOnceAndTheGuestsStatusIsTheExitStatus() throws Exception {
        TestGuests.assumeKvm();
        int status = await(launchGuest("vessel-test initrd_sum=1234", 2));
        assertEquals(1, status, "the guest's failed initrd check is the exit status; stdout:\n" + out("stdout"));
        assertTrue(out("stdout").contains("FAIL initrd checksum"), out("stdout"));
    }

    @Test
    void theConsoleReadsStdin() throws Exception {
        TestGuests.assumeKvm();
        // "echo irq": the guest waits for a byte on COM1 by interrupt and exits with it as its status
        Process p = launchGuest("vessel-test irq echo", 1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUEST_SECONDS);
        while (!out("stdout").contains("waiting for input (interrupt)") && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        p.getOutputStream().write('*');
        p.getOutputStream().flush();
        assertEquals('*', await(p), "stdout:\n" + out("stdout"));
        assertTrue(out("stdout").contains("got input by interrupt"), out("stdout"));
    }

    @Test
    void badArgumentsAndConfigsAreClearErrors() throws Exception {
        assertEquals(2, await(launch("--frobnicate")));
        assertTrue(out("stderr").contains("unknown option --frobnicate"), out("stderr"));
        assertEquals(2, await(launch()));
        assertTrue(out("stderr").contains("--api-sock is required"), out("stderr"));
        Path config = Files.writeString(tmp.resolve("bad.json"), "{\"boot-source\": {\"kernel_image_path\": \"/nonexistent/vmlinux\"}}");
        assertEquals(2, await(launch("--no-api", "--config-file", config.toString())));
        assertTrue(out("stderr").contains("boot-source.kernel_image_path names no regular file"), out("stderr"));
        Path taken = Files.createFile(tmp.resolve("taken.sock"));
        assertEquals(2, await(launch("--api-sock", taken.toString())));
        assertTrue(out("stderr").contains("already exists"), out("stderr"));
        assertTrue(Files.exists(taken), "an existing file at the socket path must not be removed");
    }
}
