package io.vessel.vmm;

import io.vessel.vmm.boot.BootSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The machine around the vCPUs, on the real /dev/kvm with the project's test guest: interrupts
 * out through irqfd (the UART's IRQ 4 via the IOAPIC), guest writes in through ioeventfd to the
 * event loop, and SMP bring-up by INIT/SIPI with the CPUID topology each CPU sees.
 */
class MachineTest {
    private static final long MEMORY = 64L << 20;
    /** Generous: on a PVM host the guest's every instruction is emulated. */
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @BeforeAll
    static void kvm() {
        TestGuests.assumeKvm();
    }

    private record Outcome(VmExit exit, String console) {
    }

    private static Outcome boot(String cmdline, int vcpus) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (Vm vm = Vm.create(VmConfig.of(BootSource.of(TestGuests.elf(), null, cmdline), vcpus, MEMORY, console))) {
            vm.start();
            VmExit exit = vm.awaitExit(TIMEOUT);
            assertNotNull(exit, "the guest did not finish within " + TIMEOUT + "; console:\n" + console);
            return new Outcome(exit, console.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void uartRaisesIrq4ThroughItsIrqfd() throws Exception {
        Outcome o = boot("vessel-test irq", 1);
        assertTrue(o.console.contains("ok   uart raised IRQ 4 (THR empty) through the IOAPIC"), o.console);
        assertEquals(new VmExit.GuestExit(0), o.exit, o.console);
    }

    @Test
    void serialInputArrivesByInterrupt() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (Vm vm = Vm.create(VmConfig.of(BootSource.of(TestGuests.elf(), null, "vessel-test irq echo"), 1, MEMORY, console))) {
            vm.start();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!console.toString(StandardCharsets.UTF_8).contains("waiting for input (interrupt)")
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(console.toString(StandardCharsets.UTF_8).contains("waiting for input (interrupt)"), console.toString());
            vm.serial().receive(new byte[] {42});
            assertEquals(new VmExit.GuestExit(42), vm.awaitExit(TIMEOUT), console.toString());
            assertTrue(console.toString(StandardCharsets.UTF_8).contains("got input by interrupt"), console.toString());
        }
    }

    @Test
    void guestWriteReachesTheEventLoopThroughAnIoeventfd() throws Exception {
        long address = 0xCF00_0000L;
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        String cmdline = "vessel-test poke=" + Long.toHexString(address) + ",2a";
        try (Vm vm = Vm.create(VmConfig.of(BootSource.of(TestGuests.elf(), null, cmdline), 1, MEMORY, console))) {
            CountDownLatch seen = new CountDownLatch(1);
            AtomicReference<String> thread = new AtomicReference<>();
            CountDownLatch wrongValue = new CountDownLatch(1);
            vm.watchGuestWrite(address, 4, 0x2AL, () -> {
                thread.set(Thread.currentThread().getName());
                seen.countDown();
            });
            vm.watchGuestWrite(address + 4, 4, 0x2AL, wrongValue::countDown);
            vm.start();
            assertEquals(new VmExit.GuestExit(0), vm.awaitExit(TIMEOUT), console.toString());
            assertTrue(seen.await(5, TimeUnit.SECONDS), "the ioeventfd never fired; console:\n" + console);
            assertEquals("vm-events", thread.get(), "the handler ran on the event loop");
            assertEquals(1, wrongValue.getCount(), "an ioeventfd on another address fired");
        }
    }

    @ParameterizedTest(name = "{0} vCPUs")
    @ValueSource(ints = {1, 2, 4})
    void bootProcessorStartsEveryApAndEachReportsItsApicId(int vcpus) throws Exception {
        Outcome o = boot("vessel-test cpus=" + Integer.toHexString(vcpus), vcpus);
        assertTrue(o.console.contains("ok   BSP's CPUID topology (0x1, 0xb) matches cpus="), o.console);
        for (int id = 1; id < vcpus; id++) {
            assertTrue(o.console.contains("ap up: apic id " + id + " (lapic id register " + id + ")"), o.console);
        }
        if (vcpus > 1) {
            assertTrue(o.console.contains("aps reported: " + (vcpus - 1)), o.console);
            assertTrue(o.console.contains("ok   every AP started and reported"), o.console);
        }
        assertTrue(!o.console.contains("FAIL"), o.console);
        assertEquals(new VmExit.GuestExit(0), o.exit, o.console);
    }
}
