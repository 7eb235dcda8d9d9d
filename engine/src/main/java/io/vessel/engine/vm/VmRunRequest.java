package io.vessel.engine.vm;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What {@code vessel vm run} asks for. A null kernel or initrd means the built guest assets
 * ({@link VirtualMachines#defaultAssets()}); a null cmdline means {@link VirtualMachines#DEFAULT_CMDLINE}.
 * The command, if any, goes after {@code --} on the kernel command line, where the guest's init
 * finds it; the first disk becomes {@code root=/dev/vda} unless the command line names a root.
 */
public record VmRunRequest(Path kernel, Path initrd, String cmdline, int cpus, long memoryBytes, List<VmDisk> disks,
                           List<String> command) {
    public VmRunRequest {
        disks = List.copyOf(Objects.requireNonNull(disks, "disks"));
        command = List.copyOf(Objects.requireNonNull(command, "command"));
    }
}
