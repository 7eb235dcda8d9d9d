package io.vessel.engine;

import io.vessel.image.Reference;
import io.vessel.image.archive.DockerArchive;
import io.vessel.image.archive.ImageEntry;
import io.vessel.image.archive.ImageImporter;
import io.vessel.image.archive.ImportOptions;
import io.vessel.image.archive.OciArchive;
import io.vessel.image.archive.OciLayout;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.store.ImageStore;
import io.vessel.image.store.ImageStore.Image;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code save}, {@code load} and {@code import}: images to and from docker save archives and OCI
 * layouts. Names are given to images only after all their content is stored and verified, so a
 * broken archive leaves nothing tagged.
 */
public final class Archives {
    /** The formats {@code save} writes. */
    public enum Format { DOCKER, OCI_ARCHIVE, OCI_LAYOUT }

    private final Engine engine;
    private final ImageStore store;

    Archives(Engine engine, ImageStore store) {
        this.engine = engine;
        this.store = store;
    }

    /** docker save: the images named, each under the names given (an ID saves it without a name). */
    public void save(List<String> names, OutputStream out, Format format, Path layoutDir) throws IOException {
        List<ImageEntry> entries = new ArrayList<>();
        for (String n : names) {
            Image i = engine.images().find(n, false, null);
            Reference asked = null;
            if (!n.startsWith("sha256:") && !Reference.looksLikeId(n)) {
                asked = Reference.parse(n);
            }
            Descriptor top = asked != null && store.tags().containsKey(asked) ? store.tags().get(asked) : i.manifestDescriptor();
            entries.add(new ImageEntry(top, asked == null ? null : asked.toString()));
        }
        switch (format) {
            case DOCKER -> DockerArchive.write(out, store.blobs(), entries);
            case OCI_ARCHIVE -> OciArchive.write(out, store.blobs(), entries);
            case OCI_LAYOUT -> OciLayout.write(layoutDir, store.blobs(), entries);
        }
    }

    /**
     * docker load: a docker save archive or an OCI archive (told by content), or an OCI layout
     * directory. Returns Docker's lines ("Loaded image: busybox:latest", "Loaded image ID: sha256:…").
     */
    public List<String> load(InputStream in, Path layoutDir) throws IOException {
        List<ImageEntry> entries;
        try (Engine.Lease ignored = engine.lease()) {
            if (layoutDir != null) {
                entries = OciLayout.read(layoutDir, store.blobs());
            } else {
                entries = DockerArchive.read(new BufferedInputStream(in, 1 << 16), store.blobs());
            }
            List<String> lines = new ArrayList<>();
            for (ImageEntry e : entries) {
                Reference ref = null;
                if (e.name() != null && !e.name().isEmpty()) {
                    try {
                        ref = Reference.parse(e.name());
                    } catch (IllegalArgumentException notAName) {
                        ref = null; // a bare tag of an OCI layout: not a name by itself
                    }
                }
                Image image;
                if (ref != null) {
                    image = store.tag(ref, e.descriptor());
                    lines.add("Loaded image: " + ref.familiar());
                } else {
                    image = store.record(e.descriptor());
                    lines.add("Loaded image ID: " + image.id());
                }
                store.unpack(image);
            }
            return lines;
        }
    }

    /** vessel import: a root file system (a directory, or a tarball on {@code in}) as a one-layer image. */
    public Image importImage(Path directory, InputStream in, String name, List<String> changes) throws IOException {
        ImportOptions opts = ImportOptions.parse(changes).withCreated(java.time.Instant.now());
        try (Engine.Lease ignored = engine.lease()) {
            Descriptor d = directory != null ? ImageImporter.importDirectory(directory, store.blobs(), opts)
                    : ImageImporter.importTarball(in, store.blobs(), opts);
            Image image;
            if (name != null) {
                image = store.tag(Reference.parse(name), d);
            } else {
                image = store.record(d);
            }
            store.unpack(image);
            return store.resolve(image.id().toString());
        }
    }
}
