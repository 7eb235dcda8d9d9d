package io.vessel.image.store;

import io.vessel.image.Digest;
import io.vessel.image.Digester;
import io.vessel.image.layer.LayerApplier;
import io.vessel.image.oci.Descriptor;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import io.vessel.linux.FileTrees;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Unpacked layers, each applied once into its own directory keyed by its chain ID (OCI image spec,
 * config.md "Layer ChainID"), so that images sharing a base share its directories:
 * {@code <root>/layers/<chain hex>/diff} (the layer in overlayfs form, a lower directory for
 * {@link Snapshot}) and {@code layer.json} (chain ID, diff_id, parent chain ID, blob).
 *
 * <p>A layer appears atomically: it is built in {@code <root>/layers/.tmp-<pid>-<uuid>/} and renamed to
 * its chain ID only once complete and verified, so a directory named by a chain ID is always whole.
 * Unpacks of the same chain by several threads or processes are serialised by a lock file; a loser of
 * a race finds the layer made. {@link #open} removes what dead processes left.
 */
public final class LayerStore {
    static final String LAYERS = "layers";
    static final String DIFF = "diff";
    static final String META = "layer.json";
    private static final String TMP_PREFIX = ".tmp-";
    private static final String DELETE_PREFIX = ".del-";
    private static final String LOCKS = ".locks";

    /**
     * One unpacked layer.
     *
     * @param parent the chain ID of the layer below, null for a base layer
     * @param blob   the compressed blob it was unpacked from (or committed as)
     * @param diff   its directory in overlayfs form
     */
    public record Layer(Digest chainId, Digest diffId, Digest parent, Descriptor blob, Path diff) {
    }

    private final Path dir;
    private final Map<Digest, ReentrantLock> locks = new ConcurrentHashMap<>();

    private LayerStore(Path dir) {
        this.dir = dir;
    }

    /** Opens (creating if needed) the layers under {@code root}, removing temp dirs of dead processes. */
    public static LayerStore open(Path root) throws IOException {
        LayerStore s = new LayerStore(root.resolve(LAYERS));
        Files.createDirectories(s.dir.resolve(LOCKS));
        s.removeLeftovers();
        return s;
    }

    /** ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
    public static Digest chainId(Digest parentChain, Digest diffId) {
        if (parentChain == null) {
            return diffId;
        }
        Digester d = Digester.sha256();
        d.update((parentChain + " " + diffId).getBytes(StandardCharsets.US_ASCII));
        return d.digest();
    }

    /** The chain IDs of a stack of layers, bottom first. */
    public static List<Digest> chainIds(List<Digest> diffIds) {
        List<Digest> out = new ArrayList<>(diffIds.size());
        Digest parent = null;
        for (Digest d : diffIds) {
            parent = chainId(parent, d);
            out.add(parent);
        }
        return out;
    }

    /** The layer with this chain ID, if it is unpacked. */
    public Optional<Layer> get(Digest chainId) throws IOException {
        Path p = dir.resolve(chainId.hex());
        Path meta = p.resolve(META);
        byte[] json;
        try {
            json = Files.readAllBytes(meta);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        try {
            JsonNode n = JsonNode.parse(meta.toString(), new String(json, StandardCharsets.UTF_8));
            Digest stored = Digest.parse(n.get("chainId").string());
            if (!stored.equals(chainId)) {
                throw n.get("chainId").fail("is " + stored + " but the directory is named " + chainId.hex());
            }
            JsonNode parent = n.get("parent");
            return Optional.of(new Layer(stored, Digest.parse(n.get("diffId").string()),
                    parent.present() ? Digest.parse(parent.string()) : null, Descriptor.from(n.get("blob")),
                    p.resolve(DIFF)));
        } catch (IllegalArgumentException e) {
            throw new IOException("layer store: " + meta + " is damaged: " + e.getMessage(), e);
        }
    }

    /** All unpacked layers, in order of chain ID. */
    public List<Layer> list() throws IOException {
        List<Layer> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                if (name.length() == 64 && name.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                    get(new Digest(Digest.SHA256, name)).ifPresent(out::add);
                }
            }
        }
        out.sort((a, b) -> a.chainId().hex().compareTo(b.chainId().hex()));
        return out;
    }

    /** The lower directories of a stack whose top is {@code topChain}, top first, as overlayfs wants them. */
    public List<Path> lowerDirs(Digest topChain) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Digest c = topChain; c != null; ) {
            Layer l = get(c).orElseThrow(() -> new NoSuchFileException(dir.resolve(topChain.hex()).toString(), null,
                    "layer " + topChain + " (or one below it) is not unpacked"));
            out.add(l.diff());
            c = l.parent();
        }
        return out;
    }

    /**
     * Unpacks an image's layers (bottom first), each unless already unpacked, checking each layer's diff_id
     * against the config's {@code rootfs.diff_ids}. Returns the layers, bottom first.
     *
     * @throws VerificationException if a layer's content does not have its diff_id; that layer is not kept
     */
    public List<Layer> unpack(List<Descriptor> blobs, List<Digest> diffIds, BlobStore store) throws IOException {
        if (blobs.size() != diffIds.size()) {
            throw new IllegalArgumentException("the manifest has " + blobs.size()
                    + " layers but the config's rootfs.diff_ids has " + diffIds.size());
        }
        // Each layer goes into a directory of its own, so they are applied in parallel (the costly part:
        // decompressing, hashing, writing); until all are in, a layer may briefly lack its parent.
        List<Digest> chains = chainIds(diffIds);
        int n = blobs.size();
        if (n <= 1) {
            return n == 0 ? List.of() : List.of(unpack(0, null, blobs.getFirst(), diffIds.getFirst(), store));
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
                Math.min(n, Math.max(2, Runtime.getRuntime().availableProcessors())));
        try {
            List<java.util.concurrent.Future<Layer>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                Digest parent = i == 0 ? null : chains.get(i - 1);
                futures.add(pool.submit(() -> unpack(index, parent, blobs.get(index), diffIds.get(index), store, false)));
            }
            List<Layer> out = new ArrayList<>();
            for (java.util.concurrent.Future<Layer> f : futures) {
                try {
                    out.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    futures.forEach(other -> other.cancel(true));
                    if (e.getCause() instanceof IOException io) {
                        throw io;
                    }
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new IOException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while unpacking layers");
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Unpacks layer {@code index} of an image (its layers {@code blobs} with {@code diffIds}) unless it is
     * unpacked already, whether or not the layers below it are: a layer's directory depends only on its own
     * content, so a pull unpacks each layer as soon as it is downloaded. Until the layers below are in, its
     * chain is incomplete and {@link #lowerDirs} refuses it.
     */
    public Layer unpackAhead(List<Descriptor> blobs, List<Digest> diffIds, int index, BlobStore store)
            throws IOException {
        if (blobs.size() != diffIds.size()) {
            throw new IllegalArgumentException("the manifest has " + blobs.size()
                    + " layers but the config's rootfs.diff_ids has " + diffIds.size());
        }
        Digest parent = index == 0 ? null : chainIds(diffIds.subList(0, index)).getLast();
        return unpack(index, parent, blobs.get(index), diffIds.get(index), store, false);
    }

    /**
     * Unpacks one layer on top of {@code parentChain} (null for a base layer) from its blob in {@code store},
     * unless its chain is unpacked already.
     *
     * @param index the layer's position in its image, for errors
     */
    public Layer unpack(int index, Digest parentChain, Descriptor blob, Digest diffId, BlobStore store)
            throws IOException {
        return unpack(index, parentChain, blob, diffId, store, true);
    }

    private Layer unpack(int index, Digest parentChain, Descriptor blob, Digest diffId, BlobStore store,
                         boolean parentFirst) throws IOException {
        Digest chain = chainId(parentChain, diffId);
        if (parentFirst) {
            requireParent(parentChain);
        }
        return locked(chain, () -> {
            Optional<Layer> existing = get(chain);
            if (existing.isPresent()) {
                return existing.get();
            }
            Path tmp = newTemp();
            try {
                Path diff = Files.createDirectory(tmp.resolve(DIFF));
                LayerApplier.Applied applied;
                try (InputStream in = store.open(blob.digest())) {
                    applied = LayerApplier.apply(in, diff);
                    in.transferTo(OutputStream.nullOutputStream()); // to the end, where the blob is verified
                }
                if (!applied.diffId().equals(diffId)) {
                    throw new VerificationException("layer " + index + " (blob " + blob.digest() + "): its content has "
                            + "diff_id " + applied.diffId() + " but the image config's rootfs.diff_ids[" + index
                            + "] is " + diffId);
                }
                return install(tmp, chain, diffId, parentChain, blob);
            } finally {
                FileTrees.remove(tmp);
            }
        });
    }

    /**
     * Moves an existing directory in overlayfs form (a build container's upper directory) in as the layer
     * {@code diffId} on top of {@code parentChain}, without copying. The directory must be on the store's file
     * system. If that chain is already unpacked, the given directory is removed and the existing layer returned
     * (same diff_id, same content).
     */
    public Layer register(Path overlayFormDir, Digest parentChain, Descriptor blob, Digest diffId) throws IOException {
        if (!Files.isDirectory(overlayFormDir, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(overlayFormDir.toString(), null, "layer store: register needs a directory");
        }
        Digest chain = chainId(parentChain, diffId);
        requireParent(parentChain);
        return locked(chain, () -> {
            Optional<Layer> existing = get(chain);
            if (existing.isPresent()) {
                FileTrees.remove(overlayFormDir);
                return existing.get();
            }
            Path tmp = newTemp();
            try {
                try {
                    Files.move(overlayFormDir, tmp.resolve(DIFF), StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("layer store: cannot move " + overlayFormDir + " into " + dir
                            + ": it must be on the same file system", e);
                }
                return install(tmp, chain, diffId, parentChain, blob);
            } finally {
                FileTrees.remove(tmp);
            }
        });
    }

    /**
     * Removes a layer's directory (after renaming it out of sight, so a crash never leaves half a layer under
     * its chain ID). Removing one that is not there does nothing. The caller makes sure no image or container
     * uses it.
     *
     * @return the bytes freed (file sizes, roughly)
     */
    public long delete(Digest chainId) throws IOException {
        Path p = dir.resolve(chainId.hex());
        Path gone = dir.resolve(DELETE_PREFIX + ProcessHandle.current().pid() + "-" + UUID.randomUUID());
        return locked(chainId, () -> {
            try {
                Files.move(p, gone, StandardCopyOption.ATOMIC_MOVE);
            } catch (NoSuchFileException e) {
                return 0L;
            }
            force(dir);
            return FileTrees.remove(gone);
        });
    }

    private void requireParent(Digest parentChain) throws IOException {
        if (parentChain != null && get(parentChain).isEmpty()) {
            throw new NoSuchFileException(dir.resolve(parentChain.hex()).toString(), null,
                    "layer store: the parent layer " + parentChain + " is not unpacked");
        }
    }

    /** Writes layer.json into the complete temp dir and renames it to the chain ID. */
    private Layer install(Path tmp, Digest chain, Digest diffId, Digest parent, Descriptor blob) throws IOException {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("chainId", chain.toString());
        meta.put("diffId", diffId.toString());
        if (parent != null) {
            meta.put("parent", parent.toString());
        }
        meta.put("blob", blob.toJson());
        Path metaFile = tmp.resolve(META);
        try (FileChannel ch = FileChannel.open(metaFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(Json.writePretty(meta).getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Path target = dir.resolve(chain.hex());
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (DirectoryNotEmptyException | FileAlreadyExistsException e) {
            // made meanwhile by a process that did not take the lock (it cannot: all do); keep theirs
        }
        force(dir);
        return get(chain).orElseThrow(() -> new IOException("layer store: " + target + " vanished after install"));
    }

    private Path newTemp() throws IOException {
        return Files.createDirectory(dir.resolve(TMP_PREFIX + ProcessHandle.current().pid() + "-" + UUID.randomUUID()));
    }

    @FunctionalInterface
    private interface Locked<T> {
        T run() throws IOException;
    }

    /** Runs {@code body} holding the chain's lock: in this JVM a lock object, across processes a file lock. */
    private <T> T locked(Digest chain, Locked<T> body) throws IOException {
        ReentrantLock lock = locks.computeIfAbsent(chain, c -> new ReentrantLock());
        lock.lock();
        try (FileChannel ch = FileChannel.open(dir.resolve(LOCKS).resolve(chain.hex()), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            return body.run();
        } finally {
            lock.unlock();
        }
    }

    /** Removes temp and half-deleted directories whose process is gone. */
    private void removeLeftovers() throws IOException {
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                String rest = name.startsWith(TMP_PREFIX) ? name.substring(TMP_PREFIX.length())
                        : name.startsWith(DELETE_PREFIX) ? name.substring(DELETE_PREFIX.length()) : null;
                if (rest == null) {
                    continue;
                }
                long pid = -1;
                int dash = rest.indexOf('-');
                try {
                    pid = dash > 0 ? Long.parseLong(rest.substring(0, dash)) : -1;
                } catch (NumberFormatException e) {
                    // not ours to judge by pid: remove
                }
                if (pid == self || (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))) {
                    continue;
                }
                FileTrees.remove(p);
            }
        }
    }

    static void force(Path directory) throws IOException {
        try (FileChannel ch = FileChannel.open(directory, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
