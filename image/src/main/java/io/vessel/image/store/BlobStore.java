package io.vessel.image.store;

import io.vessel.image.Digest;
import io.vessel.image.Digester;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A content-addressed store of blobs under a root directory, laid out as an OCI image layout's
 * {@code blobs/<algorithm>/<hex>}.
 *
 * <p>Writes are crash-safe: a blob is streamed to {@code tmp/}, hashed on the way, forced to disk,
 * verified against the digest and size it was promised under, and only then renamed into
 * {@code blobs/} (and the directory forced). So every file under {@code blobs/} is complete and
 * verified; whatever a crash leaves is in {@code tmp/}, which {@link #open} cleans. Concurrent
 * puts of the same blob, from threads or processes, are safe: each writes its own temp file and
 * the rename of identical content is atomic.
 *
 * <p>Reads verify too: {@link #open(Digest)} throws at end of stream if the file on disk was
 * corrupted after it was stored.
 */
public final class BlobStore {
    static final String BLOBS = "blobs";
    static final String TMP = "tmp";
    /** Temp files are named {@code <pid>-<uuid>.partial}; the pid tells {@link #open} whose they are. */
    static final String PARTIAL = ".partial";
    /** Bytes copied per read while storing a blob. */
    private static final int COPY_BUFFER = 64 * 1024;

    private final Path root;
    private final Path tmp;

    private BlobStore(Path root) {
        this.root = root;
        this.tmp = root.resolve(TMP);
    }

    /**
     * Opens (creating if needed) the store at {@code root} and removes what interrupted puts left
     * in {@code tmp/}: files of processes that are no longer alive. Blobs are never removed here.
     * Stores sharing one root must see each other's pids (one pid namespace).
     */
    public static BlobStore open(Path root) throws IOException {
        BlobStore store = new BlobStore(root);
        Files.createDirectories(root.resolve(BLOBS).resolve(Digest.SHA256));
        Files.createDirectories(store.tmp);
        store.removeLeftovers();
        return store;
    }

    public Path root() {
        return root;
    }

    /**
     * The file that holds a blob, whether or not it exists. Read-only: writing it bypasses
     * verification, and a blob changed on disk is reported as corrupt when it is next opened.
     */
    public Path path(Digest digest) {
        return root.resolve(BLOBS).resolve(digest.algorithm()).resolve(digest.hex());
    }

    /**
     * Stores the content of {@code in} and returns its digest.
     *
     * @param expected     the digest the content must have, or null to accept any (hashed with sha256)
     * @param expectedSize the size the content must have, or -1 if unknown
     * @throws VerificationException if the content does not have the expected digest or size;
     *                               nothing is left in the store
     */
    public Digest put(InputStream in, Digest expected, long expectedSize) throws IOException {
        if (expectedSize < -1) {
            throw new IllegalArgumentException("expectedSize must be >= 0 or -1 (unknown), not " + expectedSize);
        }
        Files.createDirectories(tmp);
        Path temp = tmp.resolve(ProcessHandle.current().pid() + "-" + UUID.randomUUID() + PARTIAL);
        boolean placed = false;
        try {
            Digester digester = Digester.of(expected == null ? Digest.SHA256 : expected.algorithm());
            write(in, temp, digester, expected, expectedSize);
            long size = digester.size();
            Digest actual = digester.digest();
            if (expectedSize >= 0 && size != expectedSize) {
                throw new VerificationException("blob " + describe(expected, actual) + ": expected " + expectedSize
                        + " bytes, got " + size);
            }
            if (expected != null && !expected.equals(actual)) {
                throw new VerificationException("blob content does not match its digest: expected " + expected
                        + ", got " + actual + " (" + size + " bytes)");
            }
            Path target = path(actual);
            if (storedSize(target) == size) {
                return actual; // already stored; the temp file is removed below
            }
            Path dir = target.getParent();
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                forceDirectory(dir.getParent());
            }
            // rename(2): atomic, and replaces a same-named file, which can only be identical content
            // from a concurrent put or a damaged copy that this one repairs.
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            placed = true;
            forceDirectory(dir);
            return actual;
        } finally {
            if (!placed) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** The size of a stored file, or -1 if there is none (it may be deleted concurrently). */
    private static long storedSize(Path target) throws IOException {
        try {
            return Files.isRegularFile(target) ? Files.size(target) : -1;
        } catch (NoSuchFileException e) {
            return -1;
        }
    }

    private static String describe(Digest expected, Digest actual) {
        return expected != null ? expected.toString() : actual.toString();
    }

    /** Copies {@code in} to a new file {@code temp}, hashing it, and forces the file to disk. */
    private static void write(InputStream in, Path temp, Digester digester, Digest expected, long expectedSize)
            throws IOException {
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buffer = new byte[COPY_BUFFER];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                digester.update(buffer, 0, n);
                if (expectedSize >= 0 && digester.size() > expectedSize) {
                    throw new VerificationException("blob " + (expected != null ? expected : "(no digest given)")
                            + ": expected " + expectedSize + " bytes, got more than that");
                }
                ByteBuffer bb = ByteBuffer.wrap(buffer, 0, n);
                while (bb.hasRemaining()) {
                    out.write(bb);
                }
            }
            out.force(true);
        }
    }

    /**
     * A stream of a blob's content that verifies the digest as it is read: at end of stream it
     * throws {@link VerificationException} naming the digest and the file if they differ.
     *
     * @throws NoSuchFileException if the blob is not stored
     */
    public InputStream open(Digest digest) throws IOException {
        Path p = path(digest);
        InputStream in;
        try {
            in = Files.newInputStream(p);
        } catch (NoSuchFileException e) {
            throw notFound(digest);
        }
        return new VerifyingInputStream(in, digest, p);
    }

    /** Reads a whole (small) blob, verified; for manifests and configs. */
    public byte[] read(Digest digest) throws IOException {
        try (InputStream in = open(digest)) {
            return in.readAllBytes();
        }
    }

    public boolean exists(Digest digest) {
        return Files.isRegularFile(path(digest));
    }

    /** The size of a stored blob in bytes. @throws NoSuchFileException if it is not stored */
    public long size(Digest digest) throws IOException {
        try {
            return Files.size(path(digest));
        } catch (NoSuchFileException e) {
            throw notFound(digest);
        }
    }

    /** Removes a blob; removing one that is not stored does nothing. */
    public void delete(Digest digest) throws IOException {
        Path p = path(digest);
        if (Files.deleteIfExists(p)) {
            forceDirectory(p.getParent());
        }
    }

    /** The digests of all stored blobs, sorted; files whose names are not digests are ignored. */
    public List<Digest> list() throws IOException {
        List<Digest> out = new ArrayList<>();
        for (String algorithm : List.of(Digest.SHA256, Digest.SHA512)) {
            Path dir = root.resolve(BLOBS).resolve(algorithm);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    Digest d = digestOrNull(algorithm, f.getFileName().toString());
                    if (d != null && Files.isRegularFile(f)) {
                        out.add(d);
                    }
                }
            }
        }
        out.sort((a, b) -> a.toString().compareTo(b.toString()));
        return out;
    }

    private static Digest digestOrNull(String algorithm, String hex) {
        try {
            return new Digest(algorithm, hex);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private NoSuchFileException notFound(Digest digest) {
        return new NoSuchFileException(path(digest).toString(), null, "blob " + digest + " is not in the store");
    }

    /** Removes temp files of dead processes, and files in tmp/ not named by {@link #put}. */
    private void removeLeftovers() throws IOException {
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(tmp)) {
            for (Path f : files) {
                if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
                    continue; // put makes only files; a directory here is someone else's
                }
                long pid = ownerPid(f.getFileName().toString());
                if (pid == self || (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))) {
                    continue; // an in-flight put of a live store
                }
                Files.deleteIfExists(f);
            }
        }
    }

    /** The pid in a temp file's name, or -1 if the name is not one {@link #put} makes. */
    static long ownerPid(String name) {
        int dash = name.indexOf('-');
        if (dash <= 0 || !name.endsWith(PARTIAL)) {
            return -1;
        }
        try {
            return Long.parseLong(name.substring(0, dash));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** fsync(2) of a directory, so that a rename or unlink in it survives a crash. */
    private static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
    /** Where partial downloads live; {@link #open} leaves them, so that a later pull resumes them. */
    static final String DOWNLOADS = "downloads";

    /**
     * The file a download of {@code digest} is written to until it is complete:
     * {@code downloads/<algorithm>-<hex>.partial}. It is kept across processes (and crashes), so a
     * later download continues it; {@link #adopt} moves it into the store once complete.
     */
    public Path partialPath(Digest digest) {
        return root.resolve(DOWNLOADS).resolve(digest.algorithm() + "-" + digest.hex() + PARTIAL);
    }

    /**
     * Moves a complete downloaded file into the store as blob {@code expected}, after hashing it:
     * the file must be on the store's filesystem (e.g. {@link #partialPath}). If its size or digest
     * is wrong it is deleted and {@link VerificationException} names the digest, the expected and
     * actual size or digest; nothing is stored.
     */
    public Digest adopt(Path file, Digest expected, long expectedSize) throws IOException {
        boolean placed = false;
        try {
            Digester digester = Digester.of(expected.algorithm());
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.allocate(COPY_BUFFER);
                while (ch.read(buffer) >= 0) {
                    buffer.flip();
                    digester.update(buffer.array(), 0, buffer.limit());
                    buffer.clear();
                }
                ch.force(true);
            }
            long size = digester.size();
            Digest actual = digester.digest();
            if (expectedSize >= 0 && size != expectedSize) {
                throw new VerificationException("blob " + expected + ": expected " + expectedSize + " bytes, got "
                        + size);
            }
            if (!expected.equals(actual)) {
                throw new VerificationException("blob content does not match its digest: expected " + expected
                        + ", got " + actual + " (" + size + " bytes)");
            }
            Path target = path(actual);
            if (storedSize(target) == size) {
                return actual; // already stored; the file is removed below
            }
            Path dir = target.getParent();
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                forceDirectory(dir.getParent());
            }
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
            placed = true;
            forceDirectory(dir);
            forceDirectory(file.getParent());
            return actual;
        } finally {
            if (!placed) {
                Files.deleteIfExists(file);
            }
        }
    }
}
