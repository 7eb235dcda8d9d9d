package io.vessel.image.oci;

import java.util.List;

/** An index has no manifest for the wanted platform; the message lists those it has. */
public class PlatformNotFoundException extends IllegalArgumentException {
    private final transient Platform wanted;
    private final transient List<Platform> available;

    public PlatformNotFoundException(Platform wanted, List<Platform> available) {
        super("no manifest for " + wanted + " in the index; available: "
                + (available.isEmpty() ? "none" : String.join(", ", available.stream().map(Platform::toString).toList())));
        this.wanted = wanted;
        this.available = List.copyOf(available);
    }

    public Platform wanted() {
        return wanted;
    }

    public List<Platform> available() {
        return available;
    }
}
