package io.vessel.image.oci;

import java.util.Set;

/**
 * The media types of image documents and layers: the OCI image spec's (media-types.md) and
 * Docker's image manifest v2 schema 2, which registries still serve for many images.
 */
public final class MediaType {
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
    public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    /** Deprecated by the spec but still found in Windows images. */
    public static final String OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public static final String OCI_LAYER_NONDISTRIBUTABLE_GZIP = OCI_LAYER_NONDISTRIBUTABLE + "+gzip";
    public static final String OCI_LAYER_NONDISTRIBUTABLE_ZSTD = OCI_LAYER_NONDISTRIBUTABLE + "+zstd";
    /** The {@code {}} config of OCI artifacts that have none. */
    public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";

    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    public static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public static final String DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /** Docker schema 1 (signed): obsolete, recognised only to refuse it clearly. */
    public static final String DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public static final String DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";

    private static final Set<String> LAYERS = Set.of(OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD,
            OCI_LAYER_NONDISTRIBUTABLE, OCI_LAYER_NONDISTRIBUTABLE_GZIP, OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
            DOCKER_LAYER, DOCKER_FOREIGN_LAYER);

    private MediaType() {
    }

    /** An image manifest, OCI or Docker schema 2. */
    public static boolean isManifest(String mediaType) {
        return OCI_MANIFEST.equals(mediaType) || DOCKER_MANIFEST.equals(mediaType);
    }

    /** An index of manifests: OCI image index or Docker manifest list. */
    public static boolean isIndex(String mediaType) {
        return OCI_INDEX.equals(mediaType) || DOCKER_MANIFEST_LIST.equals(mediaType);
    }

    /** An image configuration, OCI or Docker. */
    public static boolean isConfig(String mediaType) {
        return OCI_CONFIG.equals(mediaType) || DOCKER_CONFIG.equals(mediaType);
    }

    /** A filesystem layer: a tar archive, possibly compressed. */
    public static boolean isLayer(String mediaType) {
        return mediaType != null && LAYERS.contains(mediaType);
    }

    /** Whether a layer is gzip-compressed. */
    public static boolean isGzip(String mediaType) {
        return mediaType != null && (mediaType.endsWith("+gzip") || DOCKER_LAYER.equals(mediaType)
                || DOCKER_FOREIGN_LAYER.equals(mediaType));
    }

    /** Whether a layer is zstd-compressed. */
    public static boolean isZstd(String mediaType) {
        return mediaType != null && mediaType.endsWith("+zstd");
    }
}
