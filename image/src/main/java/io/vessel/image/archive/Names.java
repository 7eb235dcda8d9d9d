package io.vessel.image.archive;

import io.vessel.image.Reference;

import java.util.LinkedHashMap;
import java.util.Map;

/** The annotations that name the images of an OCI layout's index.json, as Docker, containerd, skopeo and umoci write them. */
final class Names {
    /** OCI image spec annotations.md: the reference of a manifest in an image layout; skopeo and umoci put a tag here. */
    static final String REF_NAME = "org.opencontainers.image.ref.name";
    /** containerd's (and Docker 25's save) full image name of an index.json entry. */
    static final String CONTAINERD_NAME = "io.containerd.image.name";

    private Names() {
    }

    /** The name an index.json entry carries: containerd's full name, else the OCI ref.name, else null. */
    static String fromAnnotations(Map<String, String> annotations) {
        String full = annotations.get(CONTAINERD_NAME);
        if (full != null && !full.isEmpty()) {
            return full;
        }
        String ref = annotations.get(REF_NAME);
        return ref == null || ref.isEmpty() ? null : ref;
    }

    /**
     * The annotations for writing {@code name} (a reference, or null) into index.json: the tag as
     * {@code org.opencontainers.image.ref.name} (what {@code skopeo oci:DIR:TAG} and {@code umoci --image
     * DIR:TAG} look up) and the full name as {@code io.containerd.image.name}, as Docker 25 writes them.
     */
    static Map<String, String> annotations(String name) {
        Map<String, String> out = new LinkedHashMap<>();
        if (name == null) {
            return out;
        }
        Reference ref = reference(name);
        out.put(CONTAINERD_NAME, ref.toString());
        if (ref.tag() != null) {
            out.put(REF_NAME, ref.tag());
        }
        return out;
    }

    static Reference reference(String name) {
        try {
            return Reference.parse(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("image name \"" + name + "\": " + e.getMessage(), e);
        }
    }
}
