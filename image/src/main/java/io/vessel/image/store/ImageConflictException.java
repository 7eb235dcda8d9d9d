package io.vessel.image.store;

import java.io.IOException;
import java.util.List;

/**
 * A request the store refuses because of other state: an ID prefix that names several images (the
 * candidates are listed), or a removal that needs force (several repositories, a container using it).
 */
public class ImageConflictException extends IOException {
    private final List<String> candidates;

    public ImageConflictException(String message, List<String> candidates) {
        super(message);
        this.candidates = List.copyOf(candidates);
    }

    public ImageConflictException(String message) {
        this(message, List.of());
    }

    /** For an ambiguous prefix: the full IDs it matches; else empty. */
    public List<String> candidates() {
        return candidates;
    }
}
