package io.vessel.vmm.guest;

import io.vessel.vmm.Vm;
import io.vessel.vmm.VmConfig;
import io.vessel.vmm.VmExit;
import io.vessel.vmm.acpi.AcpiTables;
import io.vessel.vmm.acpi.Placement;
import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.boot.CpuFeature;
import io.vessel.vmm.boot.E820Entry;
import io.vessel.vmm.boot.EntryMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's stock kernel (build/guest, {@code make guest-assets}) booted to its early milestones:
 * the e820 map and the ACPI tables it prints must be exactly the ones this VMM built. One boot,
 * stopped as soon as both are seen. On a PVM host the kernel's code is emulated (about 40 s to the
 * ACPI lines); on a VMX/SVM host it takes milliseconds.
 */
class StockKernelBootTest {
    private static final long MEMORY = 128L << 20;
    /** The ACPI lines appear after ~40 s on this PVM host (measured with QEMU too); leave headroom, stay bounded. */
    private static final Duration MILESTONES = Duration.ofSeconds(120);
    /** How long the bzImage's decompressor is watched for an early failure. */
    private static final Duration BZIMAGE_RUN = Duration.ofSeconds(5);
    private static final String CMDLINE = "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1";

    static Path guest;

    @BeforeAll
    static void needsKvmAndAssets() {
        assumeTrue(Files.isReadable(Path.of("/dev/kvm")) && Files.isWritable(Path.of("/dev/kvm")),
                "/dev/kvm is not accessible here: booting a kernel needs KVM");
        guest = RepositoryPaths.guestAssets();
        assumeTrue(Files.isRegularFile(guest.resolve("vmlinux")),
                "no guest kernel in " + guest + ": run `make guest-assets` (downloads Debian's kernel package)");
    }

    /** Linux's e820__print_table: " BIOS-e820: [mem 0x%016Lx-0x%016Lx] usable|reserved". */
    static Pattern e820Line(E820Entry e) {
        String type = switch (e.type()) {
            case E820Entry.RAM -> "usable";
            case E820Entry.RESERVED -> "reserved";
            default -> throw new IllegalArgumentException("type " + e.type());
        };
        return Pattern.compile(Pattern.quote(String.format(Locale.ROOT, "BIOS-e820: [mem 0x%016x-0x%016x] %s",
                e.address(), e.end() - 1, type)));
    }

    /** ACPICA's acpi_tb_print_table_header: "ACPI: SIG  0x%016X %06X (v%02d OEMID ...". */
    static Pattern acpiLine(Placement.Table t) {
        String sig = t.signature().equals("RSDP") ? "RSDP" : t.signature();
        int revision = t.signature().equals("RSDP") ? t.bytes()[15] : t.bytes()[8];
        return Pattern.compile(Pattern.quote(String.format(Locale.ROOT, "ACPI: %-4s 0x%016X %06X (v%02d VESSEL",
                sig, t.address(), t.bytes().length, revision)));
    }

    /** How the VM ended, or null while it runs. */
    static VmExit ended(Vm vm) {
        try {
            return vm.awaitExit(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    @Test
    void pvhBootPrintsTheVmmsMemoryMapAndAcpiTables() throws Exception {
        ConsoleWatch console = new ConsoleWatch(null);
        BootSource source = BootSource.of(guest.resolve("vmlinux"), null, CMDLINE);
        VmConfig config = VmConfig.of(source, 1, MEMORY, console).withHiddenFeatures(Set.of(CpuFeature.CX16));
        try (Vm vm = Vm.create(config)) {
            assertEquals(EntryMode.PVH, vm.bootPlan().mode());
            List<Pattern> milestones = new ArrayList<>();
            milestones.add(Pattern.compile(Pattern.quote("BIOS-provided physical RAM map:")));
            vm.bootPlan().e820().forEach(e -> milestones.add(e820Line(e)));
            vm.acpiTables().tables().forEach(t -> milestones.add(acpiLine(t)));
            vm.start();
            long t0 = System.nanoTime();
            List<Pattern> missing = console.await(milestones, MILESTONES, () -> ended(vm) != null);
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            VmExit early = ended(vm);
            vm.stop();
            assertNull(early, "the kernel ended the VM before its milestones: " + early + "\n" + console.text());
            assertTrue(missing.isEmpty(), "after " + seconds + " s the console lacks " + missing + ":\n" + console.text());
            assertEquals(new VmExit.Stopped(), vm.awaitExit(Duration.ofSeconds(10)));
            System.out.println("stock kernel: e820 map and ACPI tables seen after " + seconds + " s");
        }
    }

    /**
     * The bzImage through the 64-bit boot protocol. Its decompressor runs in ring 0 and on a PVM
     * host needs minutes (about 300 s under QEMU here) before the kernel proper prints anything, so
     * this checks what is cheap: the loader takes the setup header, the boot vCPU enters at the
     * 64-bit entry (startup_64, 0x200 past the protected-mode code) and runs for a few seconds
     * without a KVM error or a reset, then is stopped.
     */
    @Test
    void bzImageIsLoadedAndRunsWithoutAnError() throws Exception {
        ConsoleWatch console = new ConsoleWatch(null);
        BootSource source = BootSource.of(guest.resolve("vmlinuz"), null, CMDLINE);
        try (Vm vm = Vm.create(VmConfig.of(source, 1, MEMORY, console))) {
            assertEquals(EntryMode.LINUX_64, vm.bootPlan().mode());
            assertEquals(0x200, vm.bootPlan().entry() & 0xFFF, "startup_64 is 0x200 into the protected-mode kernel");
            assertEquals(AcpiTables.RSDP_ADDRESS, vm.memory().readU64(vm.bootPlan().bootInfo() + 0x70), "boot_params.acpi_rsdp_addr");
            vm.start();
            assertNull(vm.awaitExit(BZIMAGE_RUN), () -> "the decompressor ended the VM: " + ended(vm) + "\n" + console.text());
            vm.stop();
            assertEquals(new VmExit.Stopped(), vm.awaitExit(Duration.ofSeconds(10)));
        }
    }
}
