package io.vessel.vmm;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A virtio device to give the VM. Each becomes a virtio-mmio transport in its own window from
 * {@code Layout.VIRTIO_MMIO_BASE} with its own GSI from {@code Layout.VIRTIO_FIRST_GSI}, in the
 * order listed, announced on the kernel command line ({@code virtio_mmio.device=}).
 */
public sealed interface DeviceConfig {
    /** virtio-blk over the raw image {@code path}; {@code id} is the serial GET_ID returns (at most 20 bytes). */
    record Block(Path path, boolean readOnly, String id) implements DeviceConfig {
        public Block {
            Objects.requireNonNull(path, "path");
            id = id == null ? "" : id;
        }

        public Block(Path path, boolean readOnly) {
            this(path, readOnly, path.getFileName() == null ? "" : truncate(path.getFileName().toString()));
        }

        private static String truncate(String name) {
            return name.length() <= 20 ? name : name.substring(0, 20);
        }
    }

    /** virtio-rng, fed from the JDK's SecureRandom. */
    record Rng() implements DeviceConfig {
    }
}
