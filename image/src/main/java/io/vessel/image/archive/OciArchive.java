package io.vessel.image.archive;

import io.vessel.image.store.BlobStore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * A tar of an OCI image layout, skopeo's and BuildKit's {@code oci-archive}: the members
 * {@code oci-layout}, {@code index.json} and {@code blobs/<alg>/<hex>} at the top. Read in one pass,
 * plain or gzip, with the checks of {@link ArchiveContents}; written reproducibly.
 */
public final class OciArchive {
    private OciArchive() {
    }

    /**
     * Imports every image the archive's index.json names into {@code store}.
     *
     * @return each index.json entry: its top descriptor and name (see {@link ImageEntry})
     * @throws ArchiveException naming the member and what is wrong; blobs stored before it stay
     */
    public static List<ImageEntry> read(InputStream in, BlobStore store) throws IOException {
        ArchiveContents contents = ArchiveContents.read(in, store, "OCI archive");
        if (!contents.has(LayoutIndex.INDEX_JSON)) {
            throw new ArchiveException("OCI archive: no index.json: not an OCI image layout");
        }
        return DockerArchive.readLayout(contents, store, true);
    }

    /** Writes {@code images} as a tar of an OCI layout to {@code out} (not closed). */
    public static void write(OutputStream out, BlobStore store, List<ImageEntry> images) throws IOException {
        LayoutTar.write(out, store, images, false);
    }
}
