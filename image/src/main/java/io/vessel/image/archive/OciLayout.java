package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.Index;
import io.vessel.image.store.BlobStore;
import io.vessel.image.store.VerificationException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * An OCI image layout directory (image-spec image-layout.md): {@code oci-layout},
 * {@code index.json} and {@code blobs/<alg>/<hex>}, as skopeo ({@code oci:DIR:TAG}), umoci and
 * BuildKit write and read them.
 *
 * <p>{@link #read} copies every blob the index reaches into a {@link BlobStore}, verifying each
 * against its digest and size; {@link #write} makes or extends a layout from images in a store. Blob
 * files are opened without following symlinks, and a layout whose {@code blobs} directories are
 * symlinks is refused, so a layout cannot make the import read files outside it.
 */
public final class OciLayout {
    private OciLayout() {
    }

    /**
     * Imports every image {@code dir}'s index.json names into {@code store}.
     *
     * @return each index.json entry: its top descriptor and name (see {@link ImageEntry})
     * @throws ArchiveException naming the file and what is wrong; blobs stored before it stay
     */
    public static List<ImageEntry> read(Path dir, BlobStore store) throws IOException {
        String what = "OCI layout " + dir;
        LayoutIndex.checkLayout(small(dir.resolve(LayoutIndex.OCI_LAYOUT), what), dir.resolve(LayoutIndex.OCI_LAYOUT).toString());
        Path indexFile = dir.resolve(LayoutIndex.INDEX_JSON);
        Index index = LayoutIndex.parse(small(indexFile, what), indexFile.toString());
        ImageWalker walker = new ImageWalker(store);
        BlobSource source = new DirectorySource(dir, store, what);
        List<ImageEntry> entries = LayoutIndex.entries(index);
        for (ImageEntry e : entries) {
            walker.importImage(e.descriptor(), source);
        }
        return entries;
    }

    /**
     * Writes {@code images} (top descriptors in {@code store}, with their names) as an OCI layout in
     * {@code dir}: a new one if {@code dir} is absent or empty, else added to the layout there, replacing
     * the entries that have the same {@code org.opencontainers.image.ref.name} or full name (as
     * {@code skopeo copy ... oci:DIR:TAG} does). index.json is replaced atomically, after the blobs.
     */
    public static void write(Path dir, BlobStore store, List<ImageEntry> images) throws IOException {
        Map<String, Descriptor> blobs = new LinkedHashMap<>();
        ImageWalker walker = new ImageWalker(store);
        for (ImageEntry e : images) {
            walker.collect(e.descriptor(), blobs);
        }
        Files.createDirectories(dir);
        Path layoutFile = dir.resolve(LayoutIndex.OCI_LAYOUT);
        Path indexFile = dir.resolve(LayoutIndex.INDEX_JSON);
        List<Descriptor> kept = new ArrayList<>();
        if (Files.exists(layoutFile, LinkOption.NOFOLLOW_LINKS)) {
            LayoutIndex.checkLayout(small(layoutFile, "OCI layout " + dir), layoutFile.toString());
            if (Files.exists(indexFile, LinkOption.NOFOLLOW_LINKS)) {
                kept.addAll(unreplaced(LayoutIndex.parse(small(indexFile, "OCI layout " + dir), indexFile.toString()),
                        images));
            }
        } else {
            try (var list = Files.list(dir)) {
                if (list.findAny().isPresent()) {
                    throw new ArchiveException(dir + " is neither empty nor an OCI layout (no " + LayoutIndex.OCI_LAYOUT
                            + "); refusing to write an image layout into it");
                }
            }
        }
        for (Descriptor d : blobs.values()) {
            copyOut(store, d.digest(), dir);
        }
        replace(layoutFile, LayoutIndex.layout());
        replace(indexFile, LayoutIndex.write(kept, images));
    }

    /** The entries of an existing index that none of {@code images} replaces. */
    private static List<Descriptor> unreplaced(Index existing, List<ImageEntry> images) {
        Set<String> names = new HashSet<>();
        for (ImageEntry e : images) {
            names.addAll(Names.annotations(e.name()).values());
        }
        List<Descriptor> out = new ArrayList<>();
        for (Descriptor d : existing.manifests()) {
            String ref = d.annotations().get(Names.REF_NAME);
            String full = d.annotations().get(Names.CONTAINERD_NAME);
            boolean replaced = (ref != null && names.contains(ref)) || (full != null && names.contains(full));
            if (!replaced) {
                out.add(d);
            }
        }
        return out;
    }

    /** Copies a stored blob to {@code dir/blobs/<alg>/<hex>} unless a file of its size is there. */
    private static void copyOut(BlobStore store, Digest digest, Path dir) throws IOException {
        Path target = blobPath(dir, digest);
        long size = store.size(digest);
        BasicFileAttributes existing = attributes(target);
        if (existing != null && existing.isRegularFile() && existing.size() == size) {
            return;
        }
        Files.createDirectories(target.getParent());
        Path temp = target.resolveSibling("." + digest.hex() + "." + UUID.randomUUID() + ".tmp");
        try {
            try (InputStream in = store.open(digest);
                 OutputStream out = Files.newOutputStream(temp, StandardOpenOption.CREATE_NEW)) {
                in.transferTo(out); // the store's stream verifies the digest at its end
            }
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Writes a small file through a temp file and a rename. */
    private static void replace(Path file, byte[] content) throws IOException {
        Path temp = file.resolveSibling("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.write(temp, content, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    static Path blobPath(Path dir, Digest digest) {
        return dir.resolve("blobs").resolve(digest.algorithm()).resolve(digest.hex());
    }

    /** Reads a small regular file of the layout, not through a symlink. */
    private static byte[] small(Path file, String what) throws IOException {
        BasicFileAttributes a = attributes(file);
        if (a == null) {
            throw new ArchiveException(what + ": " + file.getFileName() + " is missing");
        }
        if (!a.isRegularFile()) {
            throw new ArchiveException(what + ": " + file.getFileName() + " is not a regular file"
                    + (a.isSymbolicLink() ? " (a symlink)" : ""));
        }
        if (a.size() > ImageWalker.MAX_DOCUMENT) {
            throw new ArchiveException(what + ": " + file.getFileName() + " has " + a.size() + " bytes (at most "
                    + ImageWalker.MAX_DOCUMENT + ")");
        }
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            return in.readNBytes((int) ImageWalker.MAX_DOCUMENT);
        }
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Blobs read from the layout's files into the store. */
    private record DirectorySource(Path dir, BlobStore store, String describe) implements BlobSource {
        @Override
        public boolean fetch(Descriptor d) throws IOException {
            Path file = blobPath(dir, d.digest());
            String name = dir.relativize(file).toString();
            for (Path p : List.of(dir.resolve("blobs"), file.getParent())) {
                BasicFileAttributes a = attributes(p);
                if (a != null && !a.isDirectory()) {
                    throw new ArchiveException(describe + ": " + dir.relativize(p) + " is not a directory"
                            + (a.isSymbolicLink() ? " (a symlink, refused)" : ""));
                }
            }
            BasicFileAttributes a = attributes(file);
            if (a == null) {
                return store.exists(d.digest()) && store.size(d.digest()) == d.size();
            }
            if (!a.isRegularFile()) {
                throw new ArchiveException(describe + ": " + name + " is not a regular file"
                        + (a.isSymbolicLink() ? " (a symlink, refused)" : ""));
            }
            if (a.size() != d.size()) {
                throw new ArchiveException(describe + ": " + name + " has " + a.size() + " bytes but its descriptor says "
                        + d.size());
            }
            if (store.exists(d.digest()) && store.size(d.digest()) == d.size()) {
                return true; // content-addressed: the stored copy was verified when it was put
            }
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                store.put(in, d.digest(), d.size());
            } catch (VerificationException e) {
                throw new ArchiveException(describe + ": " + name + ": " + e.getMessage(), e);
            }
            return true;
        }
    }
}
