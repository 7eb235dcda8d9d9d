package io.vessel.image.registry;

import io.vessel.image.oci.Descriptor;

import java.util.List;

/**
 * What a pull stored: everything a tag store needs to record the image without re-reading it.
 *
 * @param top      what the reference names: an index (multi-platform) or the manifest itself
 * @param manifest the image manifest chosen for the platform (equal to {@code top} when there is no index)
 * @param config   the image configuration
 * @param layers   the layers, bottom first
 */
public record PullResult(Descriptor top, Descriptor manifest, Descriptor config, List<Descriptor> layers) {
    public PullResult {
        layers = List.copyOf(layers);
    }
}
