package io.vessel.image.archive;

import io.vessel.image.oci.Descriptor;

/**
 * One image an archive or layout carries, or one to write: the descriptor of its top manifest or
 * index, and the name it goes by.
 *
 * <p>Read from an archive, {@code name} is the fullest name the archive gives: Docker's
 * {@code RepoTags} entry or containerd's {@code io.containerd.image.name} annotation (a reference such
 * as {@code docker.io/library/busybox:latest} or {@code busybox:latest}), else the OCI
 * {@code org.opencontainers.image.ref.name} annotation, which skopeo and umoci set to a bare tag
 * ({@code latest}); null when the image is unnamed. An image with several names appears once per name.
 * To write, {@code name} is a reference ({@link io.vessel.image.Reference#parse}) or null.
 */
public record ImageEntry(Descriptor descriptor, String name) {
    public ImageEntry {
        if (descriptor == null) {
            throw new IllegalArgumentException("an image entry needs a descriptor");
        }
    }
}
