package io.vessel.vmm.boot;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What to boot: a kernel (ELF vmlinux or bzImage), an optional initrd, the command line, whether
 * an ELF's PVH entry is preferred, and the guest-physical address of the ACPI RSDP (0 for none).
 */
public record BootSource(Path kernel, Path initrd, String cmdline, boolean preferPvh, long rsdp) {
    public BootSource {
        Objects.requireNonNull(kernel, "kernel");
        cmdline = cmdline == null ? "" : cmdline;
    }

    public static BootSource of(Path kernel, Path initrd, String cmdline) {
        return new BootSource(kernel, initrd, cmdline, true, 0);
    }

    public BootSource withRsdp(long address) {
        return new BootSource(kernel, initrd, cmdline, preferPvh, address);
    }

    public BootSource withPreferPvh(boolean pvh) {
        return new BootSource(kernel, initrd, cmdline, pvh, rsdp);
    }
}
