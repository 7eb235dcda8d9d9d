package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.layer.LayerException;
import io.vessel.image.layer.TarEntry;
import io.vessel.image.layer.TarReader;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.store.BlobStore;
import io.vessel.image.store.VerificationException;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * What one pass over an image archive (a docker save tarball or an OCI layout tar, plain or gzip)
 * found: {@code blobs/<alg>/<hex>} members stored in the {@link BlobStore} as they stream by, verified
 * against the digest their name gives; other small members (manifest.json, index.json, configs) kept in
 * memory; other large ones (legacy {@code <id>/layer.tar}) stored under their sha256. Nothing is
 * extracted to disk.
 *
 * <p>Member names are checked as they come: absolute names, {@code ..}, NUL, duplicates and members
 * other than files, directories and links are refused. Symbolic and hard links are kept as aliases of
 * the member they name (Docker's save links identical layers), refused if they would leave the archive.
 */
final class ArchiveContents {
    /** A member kept in memory up to this size; larger ones go to the store. */
    private static final int SMALL = 1 << 20;
    /** At most this much is held in memory in all; further members go to the store whatever their size. */
    private static final long MEMORY_BUDGET = 64L << 20;
    /** Links followed when resolving an alias, before it is taken for a loop. */
    private static final int MAX_LINKS = 16;
    private static final byte[] GZIP_MAGIC = {0x1f, (byte) 0x8b};
    private static final byte[] ZSTD_MAGIC = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};

    /** A regular member: its bytes, or where it went in the store. */
    private record Member(byte[] bytes, Digest digest, long size) {
    }

    private final BlobStore store;
    private final String describe;
    private final Map<String, Member> files = new HashMap<>();
    private final Map<String, String> links = new HashMap<>();
    private final Map<String, String> kinds = new HashMap<>();
    private long inMemory;

    private ArchiveContents(BlobStore store, String describe) {
        this.store = store;
        this.describe = describe;
    }

    /** Reads the whole archive from {@code in} (not closed), storing blobs as they come. */
    static ArchiveContents read(InputStream in, BlobStore store, String describe) throws IOException {
        ArchiveContents c = new ArchiveContents(store, describe);
        TarReader reader = new TarReader(decompressed(in, describe));
        try {
            for (TarEntry e; (e = reader.next()) != null; ) {
                c.add(e, reader);
            }
            reader.drain();
        } catch (LayerException e) {
            throw new ArchiveException(describe + ": " + e.getMessage().replaceFirst("^layer tar: ", ""), e);
        }
        return c;
    }

    String describe() {
        return describe;
    }

    private static InputStream decompressed(InputStream in, String describe) throws IOException {
        BufferedInputStream b = new BufferedInputStream(in, 64 * 1024);
        b.mark(ZSTD_MAGIC.length);
        byte[] head = b.readNBytes(ZSTD_MAGIC.length);
        b.reset();
        if (head.length >= 2 && head[0] == GZIP_MAGIC[0] && head[1] == GZIP_MAGIC[1]) {
            return new GZIPInputStream(b, 64 * 1024);
        }
        if (head.length == 4 && java.util.Arrays.equals(head, ZSTD_MAGIC)) {
            throw new ArchiveException(describe + ": zstd-compressed archives are not supported; decompress it first"
                    + " (zstd -d)");
        }
        return b;
    }

    private void add(TarEntry e, TarReader reader) throws IOException {
        String path = normalize(e.name(), "member " + e.index() + " \"" + e.name() + "\"");
        if (path.isEmpty()) {
            if (e.type() != TarEntry.Type.DIRECTORY) {
                throw refuse(e, "names the archive's root but is not a directory");
            }
            return;
        }
        String previous = kinds.put(path, e.type().name());
        if (previous != null && !(previous.equals("DIRECTORY") && e.type() == TarEntry.Type.DIRECTORY)) {
            throw refuse(e, "appears twice in the archive");
        }
        switch (e.type()) {
            case DIRECTORY -> { }
            case REGULAR -> files.put(path, regular(path, e, reader.content()));
            case SYMLINK -> {
                String target = e.linkName();
                if (target.startsWith("/")) {
                    throw refuse(e, "symlink to the absolute path \"" + target + "\" (outside the archive)");
                }
                int slash = path.lastIndexOf('/');
                String joined = slash < 0 ? target : path.substring(0, slash + 1) + target;
                links.put(path, resolve(joined, "symlink " + path + " -> " + target));
            }
            case HARDLINK -> links.put(path, normalize(e.linkName(), "hard link " + path + " -> " + e.linkName()));
            default -> throw refuse(e, "is a " + e.type().name().toLowerCase() + "; an image archive holds only"
                    + " files, directories and links");
        }
    }

    private Member regular(String path, TarEntry e, InputStream content) throws IOException {
        Digest named = blobDigest(path);
        if (named != null) {
            try {
                store.put(content, named, e.size());
            } catch (VerificationException x) {
                throw new ArchiveException(describe + ": " + path + ": " + x.getMessage(), x);
            }
            return new Member(null, named, e.size());
        }
        if (e.size() <= SMALL && inMemory + e.size() <= MEMORY_BUDGET) {
            inMemory += e.size();
            return new Member(content.readAllBytes(), null, e.size());
        }
        Digest d = store.put(content, null, e.size());
        return new Member(null, d, e.size());
    }

    /** The digest a {@code blobs/<alg>/<hex>} path names, or null for other paths; a malformed one is an error. */
    private Digest blobDigest(String path) throws ArchiveException {
        if (!path.startsWith("blobs/")) {
            return null;
        }
        String[] parts = path.split("/");
        if (parts.length != 3) {
            return null;
        }
        try {
            return new Digest(parts[1], parts[2]);
        } catch (IllegalArgumentException x) {
            throw new ArchiveException(describe + ": " + path + ": not a blob name (" + x.getMessage() + ")");
        }
    }

    /**
     * A member path normalised ("./a//b" is "a/b"); refuses absolute paths, ".." and NUL.
     * {@code what} names the member or the reference in errors.
     */
    String normalize(String name, String what) throws ArchiveException {
        if (name.startsWith("/")) {
            throw new ArchiveException(describe + ": " + what + ": absolute path, outside the archive");
        }
        if (name.indexOf('\0') >= 0) {
            throw new ArchiveException(describe + ": " + what + ": NUL in path");
        }
        List<String> parts = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                throw new ArchiveException(describe + ": " + what + ": \"..\" in path, outside the archive");
            }
            parts.add(c);
        }
        return String.join("/", parts);
    }

    /** A symlink's target joined to its directory, with ".." taken lexically; refused if it climbs out of the archive. */
    private String resolve(String joined, String what) throws ArchiveException {
        List<String> parts = new ArrayList<>();
        for (String c : joined.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (parts.isEmpty()) {
                    throw new ArchiveException(describe + ": " + what + ": points outside the archive");
                }
                parts.removeLast();
                continue;
            }
            parts.add(c);
        }
        return String.join("/", parts);
    }

    private ArchiveException refuse(TarEntry e, String why) {
        return new ArchiveException(describe + ": member " + e.index() + " \"" + e.name() + "\" " + why);
    }

    /** Whether the archive has a regular file (or a link to one) at {@code path}. */
    boolean has(String path) throws ArchiveException {
        return member(path, null) != null;
    }

    /** The content of a small member, or null if there is none at {@code path}. */
    byte[] bytes(String path, String referrer) throws IOException {
        Member m = member(path, referrer);
        if (m == null) {
            return null;
        }
        if (m.bytes() != null) {
            return m.bytes();
        }
        if (m.size() > ImageWalker.MAX_DOCUMENT) {
            throw new ArchiveException(describe + ": " + path + " has " + m.size() + " bytes; " + referrer
                    + " expects a JSON document (at most " + ImageWalker.MAX_DOCUMENT + ")");
        }
        return store.read(m.digest());
    }

    /**
     * Stores the member at {@code path} (if it was kept in memory) and returns its digest and size, or
     * null if there is none. {@code referrer} names who asks, for errors.
     */
    Descriptor stored(String path, String mediaType, String referrer) throws IOException {
        Member m = member(path, referrer);
        if (m == null) {
            return null;
        }
        Digest d = m.digest() != null ? m.digest() : store.put(new ByteArrayInputStream(m.bytes()), null, m.size());
        return Descriptor.of(mediaType, d, m.size());
    }

    /** A blob the archive carries under {@code blobs/<alg>/<hex>}, or one the store already has. */
    BlobSource blobs() {
        return new BlobSource() {
            @Override
            public boolean fetch(Descriptor d) throws IOException {
                String path = "blobs/" + d.digest().algorithm() + "/" + d.digest().hex();
                Member m = member(path, path);
                long size;
                if (m != null) {
                    size = m.size();
                    if (m.digest() != null && !m.digest().equals(d.digest())) {
                        throw new ArchiveException(describe + ": " + path + " holds content of digest " + m.digest()
                                + ", not " + d.digest());
                    }
                    if (m.bytes() != null) {
                        try {
                            store.put(new ByteArrayInputStream(m.bytes()), d.digest(), d.size());
                        } catch (VerificationException x) {
                            throw new ArchiveException(describe + ": " + path + ": " + x.getMessage(), x);
                        }
                    }
                } else if (store.exists(d.digest())) {
                    size = store.size(d.digest());
                } else {
                    return false;
                }
                if (size != d.size()) {
                    throw new ArchiveException(describe + ": " + path + " has " + size + " bytes but its descriptor says "
                            + d.size());
                }
                return true;
            }

            @Override
            public String describe() {
                return describe;
            }
        };
    }

    /** The regular member at {@code path}, following links inside the archive; null if there is none. */
    private Member member(String path, String referrer) throws ArchiveException {
        String p = path;
        for (int i = 0; i <= MAX_LINKS; i++) {
            Member m = files.get(p);
            if (m != null) {
                return m;
            }
            String target = links.get(p);
            if (target == null) {
                return null;
            }
            p = target;
        }
        throw new ArchiveException(describe + ": " + path + (referrer != null ? " (named by " + referrer + ")" : "")
                + ": more than " + MAX_LINKS + " links (a loop?)");
    }
}
