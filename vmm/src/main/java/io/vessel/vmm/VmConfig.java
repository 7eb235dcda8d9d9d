package io.vessel.vmm;

import io.vessel.vmm.boot.BootSource;
import io.vessel.vmm.boot.CpuFeature;
import io.vessel.vmm.boot.Layout;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A machine to build: boot source, vCPU count, RAM, the serial console's streams (input may be
 * null), CPU features to hide, whether the guest kernel is PVM-aware (no warning on a PVM host),
 * where warnings go, and the virtio devices.
 */
public record VmConfig(BootSource boot, int vcpus, long memoryBytes, OutputStream serialOut, InputStream serialIn,
                       Set<CpuFeature> hiddenFeatures, boolean guestPvmAware, PrintStream warnings,
                       List<DeviceConfig> devices) {
    /** Below this a guest has no room above its boot structures (the first MiB) for a kernel. */
    public static final long MIN_MEMORY = 2L << 20;

    public VmConfig {
        Objects.requireNonNull(boot, "boot");
        Objects.requireNonNull(serialOut, "serialOut");
        hiddenFeatures = hiddenFeatures == null ? Set.of() : Set.copyOf(hiddenFeatures);
        warnings = warnings == null ? System.err : warnings;
        devices = devices == null ? List.of() : List.copyOf(devices);
        if (devices.size() > Layout.VIRTIO_MAX_DEVICES) {
            throw new IllegalArgumentException(devices.size() + " virtio devices asked for; a VM has GSIs for at most "
                    + Layout.VIRTIO_MAX_DEVICES);
        }
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
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, null, Set.of(), false, null, List.of());
    }

    public VmConfig withHiddenFeatures(Set<CpuFeature> features) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, serialIn, features, guestPvmAware, warnings, devices);
    }

    public VmConfig withWarnings(PrintStream stream) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, serialIn, hiddenFeatures, guestPvmAware, stream, devices);
    }

    public VmConfig withSerialIn(InputStream in) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, in, hiddenFeatures, guestPvmAware, warnings, devices);
    }

    public VmConfig withGuestPvmAware(boolean aware) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, serialIn, hiddenFeatures, aware, warnings, devices);
    }

    public VmConfig withDevices(List<DeviceConfig> list) {
        return new VmConfig(boot, vcpus, memoryBytes, serialOut, serialIn, hiddenFeatures, guestPvmAware, warnings, list);
    }
}
