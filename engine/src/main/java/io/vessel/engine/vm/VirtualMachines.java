package io.vessel.engine.vm;

import io.vessel.vmm.DeviceConfig;
import io.vessel.vmm.Vm;
import io.vessel.vmm.VmConfig;
import io.vessel.vmm.VmExit;
import io.vessel.vmm.boot.BootSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's face for micro-VMs: runs one VM to its end with its console on the caller's
 * streams and turns how it ended into an exit status, as {@code vessel vm run} reports it: the
 * guest's own status (debug-exit port), 0 for a power-off or reset the guest asked for, and
 * {@link #VMM_FAILED} when the VMM could not go on.
 */
public final class VirtualMachines {
    /** The status when the VM could not be built or crashed: Docker's "the engine failed". */
    public static final int VMM_FAILED = 125;
    /** Console on COM1; panic=-1 makes a panicking guest reboot at once, which ends the VM. */
    public static final String DEFAULT_CMDLINE = "console=ttyS0 panic=-1";
    /** Where scripts/guest-assets.sh puts the default kernel and initramfs, relative to the build dir. */
    private static final String ASSETS_DIR = "guest", KERNEL = "vmlinux", INITRD = "initramfs.cpio.gz";

    private VirtualMachines() {
    }

    /** How a VM run ended: the status to exit with and what happened, in words. */
    public record Outcome(int exitStatus, String description) {
    }

    /**
     * The built guest assets: {@code $VESSEL_GUEST_DIR}, else {@code build/guest} beside the
     * {@code build/lib} this code was loaded from.
     */
    public static Path defaultAssets() {
        String env = System.getenv("VESSEL_GUEST_DIR");
        if (env != null && !env.isEmpty()) {
            return Path.of(env);
        }
        try {
            Path code = Path.of(VirtualMachines.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return code.getParent().getParent().resolve(ASSETS_DIR);
        } catch (Exception e) {
            return Path.of("build", ASSETS_DIR);
        }
    }

    /** The kernel command line for {@code request}: its own or the default, the root disk, then {@code -- COMMAND}. */
    public static String cmdline(VmRunRequest request) {
        StringBuilder b = new StringBuilder(request.cmdline() != null ? request.cmdline() : DEFAULT_CMDLINE);
        if (!request.disks().isEmpty() && !hasWord(b.toString(), "root=")) {
            b.append(" root=/dev/vda").append(request.disks().get(0).readOnly() ? " ro" : " rw");
        }
        if (!request.command().isEmpty()) {
            b.append(" --");
            for (String word : request.command()) {
                b.append(' ').append(quote(word));
            }
        }
        return b.toString().strip();
    }

    private static boolean hasWord(String cmdline, String prefix) {
        for (String w : cmdline.split(" ")) {
            if (w.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** Linux's command line parser (lib/cmdline.c, next_arg) keeps spaces inside double quotes and has no escapes. */
    private static String quote(String word) {
        if (word.contains("\"") || word.contains("\n")) {
            throw new IllegalArgumentException("command word " + word.replace("\n", "\\n")
                    + " cannot be passed on a kernel command line (it holds a double quote or a newline)");
        }
        if (word.isEmpty() || word.contains(" ") || word.contains("\t")) {
            return "\"" + word + "\"";
        }
        return word;
    }

    /** The VMM's configuration for {@code request}, with the console on {@code console} and {@code in}. */
    public static VmConfig config(VmRunRequest request, InputStream in, OutputStream console, PrintStream warnings) {
        Path assets = defaultAssets();
        Path kernel = request.kernel() != null ? request.kernel() : assets.resolve(KERNEL);
        Path initrd = request.initrd();
        if (initrd == null && request.kernel() == null) {
            initrd = assets.resolve(INITRD);
        }
        if (request.kernel() == null && !Files.exists(kernel)) {
            throw new IllegalArgumentException("no --kernel given and no built guest kernel at " + kernel
                    + "; run 'make guest-assets' or pass --kernel");
        }
        List<DeviceConfig> devices = new ArrayList<>();
        for (VmDisk d : request.disks()) {
            devices.add(new DeviceConfig.Block(d.path(), d.readOnly()));
        }
        BootSource boot = BootSource.of(kernel, initrd, cmdline(request));
        return VmConfig.of(boot, request.cpus(), request.memoryBytes(), console).withSerialIn(in).withWarnings(warnings)
                .withDevices(devices);
    }

    /** Runs the VM of {@code request} to its end. */
    public static Outcome run(VmRunRequest request, InputStream in, OutputStream console, PrintStream warnings)
            throws IOException, InterruptedException {
        try (Vm vm = Vm.create(config(request, in, console, warnings))) {
            VmExit exit = vm.run();
            return outcome(exit == null ? new VmExit.Stopped() : exit);
        }
    }

    /** Runs until the VM ends or {@code timeout} passes (then stops it). */
    public static Outcome run(VmRunRequest request, InputStream in, OutputStream console, PrintStream warnings,
                              Duration timeout) throws IOException, InterruptedException {
        try (Vm vm = Vm.create(config(request, in, console, warnings))) {
            vm.start();
            VmExit exit = vm.awaitExit(timeout);
            if (exit == null) {
                vm.stop();
                return new Outcome(VMM_FAILED, "the VM did not end within " + timeout.toSeconds() + " s and was stopped");
            }
            return outcome(exit);
        }
    }

    static Outcome outcome(VmExit exit) {
        return switch (exit) {
            case VmExit.GuestExit g -> new Outcome(g.status(), "the guest exited with status " + g.status());
            case VmExit.PoweredOff p -> new Outcome(0, "the guest powered off");
            case VmExit.Reset r -> new Outcome(0, "the guest reset the machine");
            case VmExit.Crashed c -> new Outcome(VMM_FAILED, "the VM crashed: " + c.reason());
            case VmExit.Stopped s -> new Outcome(VMM_FAILED, "the VM was stopped");
        };
    }
}
