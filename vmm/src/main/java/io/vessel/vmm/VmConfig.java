package io.vessel.vmm;

import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.boot.CpuFeature;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Objects;
import java.util.Set;

/**
 * A machine to build: boot source, vCPU count, RAM, the serial console's streams (input may be
 * null), CPU features to hide, whether the guest kernel is PVM-aware (no warning on a PVM host),
 * and where warnings go.
 */
public record VmConfig(BootSource boot, int vcpus, long memoryBytes, OutputStream serialOut, InputStream serialIn,
                       Set<CpuFeature> hiddenFeatures, boolean guestPvmAware, PrintStream warnings) {
    /** Below this a guest has no room above its boot structures (the first MiB) for a kernel. */
    public static final long MIN_MEMORY = 2L << 20;

    public VmConfig {
        Objects.requireNonNull(boot, "boot");
        Objects.requireNonNull(serialOut, "serialOut");
        hiddenFeatures = hiddenFeatures == null ? Set.of() : Set.copyOf(hiddenFeatures);
        warnings = warnings == null ? System.err : warnings;
        if (vcpus < 1) {
            throw new IllegalArgumentException("a VM needs at least 1 vCPU, not " + vcpus);
        }
        if (memoryBytes < MIN_MEMORY) {
            throw new IllegalArgumentException("memory too small: " + memoryBytes + " bytes; a VM needs at least "
                    + (MIN_MEMORY >> 20) + " MiB");
        }
        if (memoryBytes % 4096 != 0) {
            throw new IllegalArgumentException("memory must be a multiple of 4 KiB, not " + memoryBytes + " bytes");
        }
    }

    public static VmConfig of(BootSource boot, int vcpus, long memoryBytes, OutputStream serialOut) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, null, Set.of(), false, null);
    }

    public VmConfig withHiddenFeatures(Set<CpuFeature> features) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, serialIn, features, guestPvmAware, warnings);
    }

    public VmConfig withWarnings(PrintStream stream) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, serialIn, hiddenFeatures, guestPvmAware, stream);
    }

    public VmConfig withSerialIn(InputStream in) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, in, hiddenFeatures, guestPvmAware, warnings);
    }

    public VmConfig withGuestPvmAware(boolean aware) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, serialIn, hiddenFeatures, aware, warnings);
    }
}
