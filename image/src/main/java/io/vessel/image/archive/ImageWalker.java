package io.vessel.image.archive;

import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.Document;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Index;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Walks an image from its top descriptor through indexes and manifests to configs and layers: on
 * import, bringing every blob from a {@link BlobSource} into the store and checking that the image is
 * complete; on export, listing the blobs to write.
 *
 * <p>An index may lack some of its manifests: Docker and containerd save only the platforms they
 * have. Such manifests are skipped, but at least one image manifest must be complete, and one that is
 * present must have its config and every layer (foreign layers with urls excepted); BuildKit's
 * attestation manifests (SBOM, provenance) may be incomplete.
 */
final class ImageWalker {
    /** Indexes nested deeper than this are refused: a cycle or a hostile archive. */
    private static final int MAX_DEPTH = 8;
    /** Manifests, indexes and configs are read whole; none real comes near this. */
    static final long MAX_DOCUMENT = 4L << 20;

    private final BlobStore store;

    ImageWalker(BlobStore store) {
        this.store = store;
    }

    /** Imports the image under {@code top} from {@code source}; throws {@link ArchiveException} if it is incomplete or wrong. */
    void importImage(Descriptor top, BlobSource source) throws IOException {
        if (!importDocument(top, source, 0, "index.json")) {
            throw new ArchiveException(source.describe() + ": blob " + top.digest() + " (" + top.mediaType()
                    + ") named in index.json is missing");
        }
    }

    /** Returns false if the document's own blob is missing; throws if it is present but incomplete. */
    private boolean importDocument(Descriptor d, BlobSource source, int depth, String where) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new ArchiveException(source.describe() + ": indexes nested more than " + MAX_DEPTH + " deep at " + d.digest());
        }
        if (!MediaType.isManifest(d.mediaType()) && !MediaType.isIndex(d.mediaType())) {
            throw new ArchiveException(source.describe() + ": " + where + " names " + d.digest() + " of media type "
                    + d.mediaType() + ", not an image manifest or index");
        }
        if (d.size() > MAX_DOCUMENT) {
            throw new ArchiveException(source.describe() + ": " + where + " says " + d.digest() + " has " + d.size()
                    + " bytes; manifests and indexes over " + MAX_DOCUMENT + " bytes are refused");
        }
        if (!source.fetch(d)) {
            return false;
        }
        Document doc = parse(d, source);
        switch (doc) {
            case Index index -> {
                int complete = 0;
                List<String> missing = new ArrayList<>();
                for (int i = 0; i < index.manifests().size(); i++) {
                    Descriptor child = index.manifests().get(i);
                    String at = "index " + d.digest() + " manifests[" + i + "]";
                    boolean present;
                    try {
                        present = importDocument(child, source, depth + 1, at);
                    } catch (ArchiveException e) {
                        if (!child.isAttestation()) {
                            throw e;
                        }
                        present = false; // an incomplete SBOM or provenance does not make the image unusable
                    }
                    if (present && !child.isAttestation()) {
                        complete++;
                    } else if (!present) {
                        missing.add(child.digest().toString());
                    }
                }
                if (complete == 0) {
                    throw new ArchiveException(source.describe() + ": index " + d.digest() + " has none of its "
                            + index.manifests().size() + " manifests complete" + (missing.isEmpty() ? "" : " (missing: "
                            + String.join(", ", missing) + ")"));
                }
            }
            case Manifest manifest -> importManifest(d, manifest, source);
        }
        return true;
    }

    private void importManifest(Descriptor d, Manifest manifest, BlobSource source) throws IOException {
        Descriptor config = manifest.config();
        if (config.size() > MAX_DOCUMENT) {
            throw new ArchiveException(source.describe() + ": manifest " + d.digest() + " config " + config.digest()
                    + " has " + config.size() + " bytes; configs over " + MAX_DOCUMENT + " bytes are refused");
        }
        if (!source.fetch(config)) {
            throw new ArchiveException(source.describe() + ": manifest " + d.digest() + ": config blob "
                    + config.digest() + " is missing");
        }
        for (int i = 0; i < manifest.layers().size(); i++) {
            Descriptor layer = manifest.layers().get(i);
            if (!source.fetch(layer) && layer.urls().isEmpty()) {
                throw new ArchiveException(source.describe() + ": manifest " + d.digest() + ": layers[" + i + "] blob "
                        + layer.digest() + " is missing");
            }
        }
        if (manifest.isImage()) {
            try {
                ImageConfig.parse(store.read(config.digest())).checkLayers(manifest);
            } catch (IllegalArgumentException e) {
                throw new ArchiveException(source.describe() + ": manifest " + d.digest() + ": config " + config.digest()
                        + ": " + e.getMessage(), e);
            }
        }
    }

    private Document parse(Descriptor d, BlobSource source) throws IOException {
        try {
            return Document.parse(store.read(d.digest()), d.mediaType());
        } catch (IllegalArgumentException e) {
            throw new ArchiveException(source.describe() + ": " + d.mediaType() + " " + d.digest() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Every blob of the image under {@code top} that the store has, documents before what they name,
     * deduplicated, added to {@code into} (keyed by digest). Manifests of an index that the store lacks are
     * skipped; a present manifest lacking a config or layer is an error, as is a missing top.
     */
    void collect(Descriptor top, Map<String, Descriptor> into) throws IOException {
        if (!store.exists(top.digest())) {
            throw new ArchiveException("cannot export " + top.digest() + ": it is not in the blob store");
        }
        collect(top, into, 0);
    }

    private void collect(Descriptor d, Map<String, Descriptor> into, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new ArchiveException("cannot export " + d.digest() + ": indexes nested more than " + MAX_DEPTH + " deep");
        }
        into.putIfAbsent(d.digest().toString(), plain(d));
        Document doc;
        try {
            doc = Document.parse(store.read(d.digest()), d.mediaType());
        } catch (IllegalArgumentException e) {
            throw new ArchiveException("cannot export " + d.digest() + ": " + e.getMessage(), e);
        }
        switch (doc) {
            case Index index -> {
                for (Descriptor child : index.manifests()) {
                    if (store.exists(child.digest())) {
                        collect(child, into, depth + 1);
                    }
                }
            }
            case Manifest manifest -> {
                List<Descriptor> blobs = new ArrayList<>();
                blobs.add(manifest.config());
                blobs.addAll(manifest.layers());
                for (Descriptor b : blobs) {
                    if (!store.exists(b.digest())) {
                        if (!b.urls().isEmpty()) {
                            continue; // a foreign layer, fetched from its urls by whoever needs it
                        }
                        throw new ArchiveException("cannot export manifest " + d.digest() + ": blob " + b.digest()
                                + " (" + b.mediaType() + ") is not in the blob store");
                    }
                    into.putIfAbsent(b.digest().toString(), plain(b));
                }
            }
        }
    }

    /** The image manifest to run from {@code top}: itself, or the linux/amd64 one of an index that the store has. */
    Descriptor runnable(Descriptor top) throws IOException {
        Descriptor d = top;
        for (int depth = 0; MediaType.isIndex(d.mediaType()); depth++) {
            if (depth > MAX_DEPTH) {
                return null;
            }
            Index index = Index.parse(store.read(d.digest()));
            Descriptor chosen = null;
            for (Descriptor child : index.manifests()) {
                if (store.exists(child.digest()) && (MediaType.isIndex(child.mediaType())
                        || (child.platform() != null && !child.isAttestation()
                        && child.platform().satisfies(io.vessel.image.oci.Platform.LINUX_AMD64)))) {
                    chosen = child;
                    break;
                }
            }
            if (chosen == null) {
                return null;
            }
            d = chosen;
        }
        return MediaType.isManifest(d.mediaType()) ? d : null;
    }

    /** A descriptor without urls and annotations, keeping its platform: what names a blob. */
    static Descriptor plain(Descriptor d) {
        return new Descriptor(d.mediaType(), d.digest(), d.size(), List.of(), Map.of(), d.platform());
    }
}
