package io.vessel.vmm;

import io.vessel.vmm.acpi.AcpiTables;
import io.vessel.vmm.boot.BootException;
import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.boot.E820Entry;
import io.vessel.vmm.boot.EntryMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Boots the project's test guest on the real /dev/kvm and checks what it reports over COM1. */
class VmTest {
    private static final long MEMORY = 64L << 20;
    /** Generous: on a PVM host the guest's every instruction is emulated. */
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @TempDir
    Path tmp;

    @BeforeAll
    static void kvm() {
        TestGuests.assumeKvm();
    }

    private Path initrd(int size) throws IOException {
        byte[] data = new byte[size];
        new Random(42).nextBytes(data);
        return Files.write(tmp.resolve("initrd"), data);
    }

    private static String sumArg(Path initrd) throws IOException {
        return "initrd_sum=" + Integer.toHexString(TestGuests.fnv1a(Files.readAllBytes(initrd)));
    }

    private record Outcome(VmExit exit, String console) {
    }

    private static Outcome boot(BootSource source, int vcpus) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (Vm vm = Vm.create(VmConfig.of(source, vcpus, MEMORY, console))) {
            vm.start();
            VmExit exit = vm.awaitExit(TIMEOUT);
            assertNotNull(exit, "the guest did not finish within " + TIMEOUT + "; console:\n" + console);
            return new Outcome(exit, console.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void pvhEntryPassesItsBootChecks() throws Exception {
        Path initrd = initrd(4096);
        BootSource source = BootSource.of(TestGuests.elf(), initrd, "console=ttyS0 vessel-test " + sumArg(initrd));
        Outcome o = boot(source, 1);
        assertTrue(o.console.contains("boot mode pvh"), o.console);
        assertAcpiSeen(o.console);
        assertTrue(o.console.contains("RESULT PASS"), o.console);
        assertEquals(new VmExit.GuestExit(0), o.exit, o.console);
    }

    /** The guest walked the tables from the RSDP it was given and found them whole and reserved. */
    private static void assertAcpiSeen(String console) {
        assertTrue(console.contains("acpi: RSDP at 0xe0000\n"), console);
        assertTrue(console.contains("acpi: OEM VESSEL\n"), console);
        for (String table : new String[] {"FACP", "APIC", "DSDT"}) {
            assertTrue(console.contains("acpi: " + table + " at 0xe"), table + " missing:\n" + console);
        }
        assertTrue(console.contains("ok   RSDP signature, revision and both checksums"), console);
        assertTrue(console.contains("ok   every table in the XSDT has a good checksum"), console);
        assertTrue(console.contains("ok   the FADT's X_DSDT points at a DSDT with a good checksum"), console);
        assertTrue(console.contains("ok   the ACPI tables are reserved in the memory map"), console);
    }

    @Test
    void acpiPowerOffEndsTheVmPoweredOff() throws Exception {
        Outcome o = boot(BootSource.of(TestGuests.elf(), null, "vessel-test poweroff"), 1);
        assertTrue(o.console.contains("powering off through the ACPI sleep control register"), o.console);
        assertEquals(new VmExit.PoweredOff(), o.exit, o.console);
    }

    @Test
    void theTablesInGuestMemoryDescribeThisVmAndTheBootProtocolsPointAtThem() throws Exception {
        byte[] expected = AcpiTables.build(3, List.of()).place(AcpiTables.RSDP_ADDRESS).table("APIC").bytes();
        try (Vm vm = Vm.create(VmConfig.of(BootSource.of(TestGuests.elf(), null, "x"), 3, MEMORY, new ByteArrayOutputStream()))) {
            var madt = vm.acpiTables().table("APIC");
            assertArrayEquals(expected, vm.memory().read(madt.address(), expected.length), "MADT for 3 vCPUs");
            assertEquals(AcpiTables.RSDP_ADDRESS, vm.memory().readU64(vm.bootPlan().bootInfo() + 32), "hvm_start_info.rsdp_paddr");
            assertTrue(vm.bootPlan().e820().stream().anyMatch(e -> e.type() == E820Entry.RESERVED
                    && e.address() <= vm.acpiTables().start() && vm.acpiTables().end() <= e.end()), vm.bootPlan().e820().toString());
        }
        BootSource linux64 = BootSource.of(TestGuests.elf(), null, "x").withPreferPvh(false);
        try (Vm vm = Vm.create(VmConfig.of(linux64, 1, MEMORY, new ByteArrayOutputStream()))) {
            assertEquals(AcpiTables.RSDP_ADDRESS, vm.memory().readU64(vm.bootPlan().bootInfo() + 0x70), "boot_params.acpi_rsdp_addr");
        }
    }

    @Test
    void linux64EntryPassesItsBootChecks() throws Exception {
        Path initrd = initrd(3000);
        BootSource source = BootSource.of(TestGuests.elf(), initrd, "vessel-test " + sumArg(initrd)).withPreferPvh(false);
        Outcome o = boot(source, 1);
        assertTrue(o.console.contains("boot mode linux64"), o.console);
        assertAcpiSeen(o.console);
        assertTrue(o.console.contains("RESULT PASS"), o.console);
        assertEquals(new VmExit.GuestExit(0), o.exit, o.console);
    }

    @Test
    void bzImageBootsThroughItsSetupHeaderAndPassesTheSameChecks() throws Exception {
        Path initrd = initrd(2500);
        BootSource source = BootSource.of(TestGuests.bzImage(), initrd, "vessel-test bzimage irq cpus=2 " + sumArg(initrd));
        Outcome o = boot(source, 2);
        assertTrue(o.console.contains("boot mode linux64"), o.console);
        assertTrue(o.console.contains("setup header: protocol 0x20f, xloadflags 0x3"), o.console);
        assertTrue(o.console.contains("ok   bzImage setup header in boot_params (2.15, XLF_KERNEL_64, relocatable, loaded high)"),
                o.console);
        assertTrue(o.console.contains("ok   initrd checksum matches the command line"), o.console);
        assertTrue(o.console.contains("ok   uart raised IRQ 4"), o.console);
        assertTrue(o.console.contains("ap up: apic id 1"), o.console);
        assertTrue(o.console.contains("RESULT PASS"), o.console);
        assertEquals(new VmExit.GuestExit(0), o.exit, o.console);
    }

    @Test
    void theElfEntryHasNoSetupHeader() throws Exception {
        Outcome o = boot(BootSource.of(TestGuests.elf(), null, "vessel-test bzimage").withPreferPvh(false), 1);
        assertTrue(o.console.contains("FAIL booted from the bzImage"), o.console);
        assertEquals(new VmExit.GuestExit(1), o.exit, o.console);
    }

    @Test
    void aWrongInitrdChecksumFailsTheGuest() throws Exception {
        Path initrd = initrd(512);
        Outcome o = boot(BootSource.of(TestGuests.elf(), initrd, "vessel-test initrd_sum=1234"), 1);
        assertTrue(o.console.contains("FAIL initrd checksum"), o.console);
        assertEquals(new VmExit.GuestExit(1), o.exit, o.console);
    }

    @Test
    void i8042ResetEndsTheVmWithReset() throws Exception {
        Outcome o = boot(BootSource.of(TestGuests.elf(), null, "vessel-test reset"), 1);
        assertTrue(o.console.contains("resetting through the i8042"), o.console);
        assertEquals(new VmExit.Reset(), o.exit, o.console);
    }

    @Test
    void ctrlAltDelReachesTheGuestByKeyboardInterruptThroughItsIrqfd() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (Vm vm = Vm.create(VmConfig.of(BootSource.of(TestGuests.elf(), null, "vessel-test keys_irq"), 1, MEMORY, console))) {
            vm.start();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!console.toString(StandardCharsets.UTF_8).contains("waiting for keys (interrupt)")
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            vm.sendCtrlAltDel();
            VmExit exit = vm.awaitExit(TIMEOUT);
            String c = console.toString(StandardCharsets.UTF_8);
            assertEquals(new VmExit.GuestExit(0), exit, c);
            // the guest reads the keys only in its IRQ 1 handler: they arrived, so the interrupt did
            assertTrue(c.contains("keys (interrupt): 0x14 0x11 0xe0 0x71"), c);
            assertTrue(c.matches("(?s).*keyboard interrupts: [1-9].*"), c);
        }
    }

    @Test
    void bootsWithSeveralVcpus() throws Exception {
        Outcome o = boot(BootSource.of(TestGuests.elf(), null, "vessel-test"), 2);
        assertTrue(o.console.contains("RESULT PASS"), o.console);
        assertEquals(new VmExit.GuestExit(0), o.exit, o.console);
    }

    @Test
    void pausesAndResumesAndTakesSerialInput() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (Vm vm = Vm.create(VmConfig.of(BootSource.of(TestGuests.elf(), null, "vessel-test echo"), 2, MEMORY, console))) {
            vm.start();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!console.toString(StandardCharsets.UTF_8).contains("waiting for input") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(console.toString(StandardCharsets.UTF_8).contains("waiting for input"), console.toString());
            vm.pause();
            for (Vcpu v : vm.vcpus()) {
                assertEquals(Vcpu.State.PAUSED, v.state());
            }
            vm.serial().receive(new byte[] {42});
            Thread.sleep(200);
            assertTrue(!console.toString(StandardCharsets.UTF_8).contains("got input"), "a paused guest ran: " + console);
            vm.resume();
            assertEquals(new VmExit.GuestExit(42), vm.awaitExit(TIMEOUT), console.toString());
            assertTrue(console.toString(StandardCharsets.UTF_8).contains("got input"), console.toString());
            for (Vcpu v : vm.vcpus()) {
                assertEquals(Vcpu.State.STOPPED, v.state());
            }
        }
    }

    @Test
    void failedCreationLeavesNoFdsOrThreads() throws Exception {
        Path junk = Files.write(tmp.resolve("junk"), new byte[8192]);
        long fdsBefore = openFds();
        for (int i = 0; i < 3; i++) {
            assertThrows(BootException.class, () -> Vm.create(VmConfig.of(
                    BootSource.of(junk, null, ""), 2, MEMORY, new ByteArrayOutputStream())));
        }
        assertEquals(fdsBefore, openFds(), "file descriptors leaked");
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("vcpu-") && t.isAlive()),
                "vCPU threads left running");
    }

    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void missingKernelIsAClearError() {
        BootException e = assertThrows(BootException.class, () -> Vm.create(VmConfig.of(
                BootSource.of(tmp.resolve("nope"), null, ""), 1, MEMORY, new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void corruptKernelIsAClearError() throws Exception {
        Path junk = Files.write(tmp.resolve("junk"), "not a kernel at all".getBytes(StandardCharsets.UTF_8));
        BootException e = assertThrows(BootException.class, () -> Vm.create(VmConfig.of(
                BootSource.of(junk, null, ""), 1, MEMORY, new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("neither an ELF vmlinux nor a bzImage"), e.getMessage());
        byte[] elf = Files.readAllBytes(TestGuests.elf());
        Path truncated = Files.write(tmp.resolve("truncated"), java.util.Arrays.copyOf(elf, 200));
        e = assertThrows(BootException.class, () -> Vm.create(VmConfig.of(
                BootSource.of(truncated, null, ""), 1, MEMORY, new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    }

    @Test
    void initrdTooBigIsAClearError() throws Exception {
        Path big = tmp.resolve("big");
        try (var f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(MEMORY);
        }
        BootException e = assertThrows(BootException.class, () -> Vm.create(VmConfig.of(
                BootSource.of(TestGuests.elf(), big, ""), 1, MEMORY, new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("initrd") && e.getMessage().contains("too big"), e.getMessage());
    }

    @Test
    void memoryTooSmallIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VmConfig.of(
                BootSource.of(Path.of("k"), null, ""), 1, 1 << 20, new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("memory too small"), e.getMessage());
    }

    @Test
    void bootPlanUsesPvhWhenTheNoteIsThere() throws Exception {
        try (Vm vm = Vm.create(VmConfig.of(BootSource.of(TestGuests.elf(), null, "x"), 1, MEMORY, new ByteArrayOutputStream()))) {
            assertEquals(EntryMode.PVH, vm.bootPlan().mode());
        }
    }
}
