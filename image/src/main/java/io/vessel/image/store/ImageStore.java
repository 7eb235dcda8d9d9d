package io.vessel.image.store;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.layer.LayerWriter;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.Document;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Index;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * The local images: blobs ({@link BlobStore}, at {@code <root>/blobs/<alg>/<hex>} as in an OCI layout),
 * unpacked layers ({@link LayerStore}, {@code <root>/layers/}) and the names, in {@code <root>/images.json}:
 * {@code images} (image ID, the config digest → its manifest's descriptor; every image the store keeps,
 * tagged or dangling) and {@code tags} (a reference, {@code name:tag} or {@code name@digest} → the descriptor of
 * a manifest or index).
 *
 * <p>Every write is atomic and ordered so that a crash at any moment loses nothing already stored: blobs
 * first (each atomically), then images.json, replaced whole (temp file, fsync, rename, directory fsync).
 * What a crash can leave is unreferenced blobs and layers, which {@link #gc} collects, and temp files,
 * which {@link #open} removes. Changes to images.json are serialised across processes by a file lock,
 * and each reads the file afresh, so several processes may share a root.
 */
public final class ImageStore {
    /** Where the daemon keeps its images unless told otherwise. */
    public static final Path DEFAULT_ROOT = Path.of("/var/lib/vessel");
    static final String STATE = "images.json";
    private static final String STATE_LOCK = "images.lock";
    private static final String STATE_TMP = ".images.json.";

    /**
     * An image: its ID (the config digest, as Docker's), the manifest it was stored under, and the chain IDs
     * of its layers (bottom first), which name their directories in the {@link LayerStore}.
     *
     * @param tags the references naming it, sorted; empty for a dangling image
     */
    public record Image(Digest id, Descriptor manifestDescriptor, Manifest manifest, ImageConfig config,
                        List<Digest> chainIds, List<Reference> tags) {
        public Image {
            chainIds = List.copyOf(chainIds);
            tags = List.copyOf(tags);
        }

        /** The chain ID of the top layer: the whole stack's name. */
        public Digest topChainId() {
            return chainIds.isEmpty() ? null : chainIds.getLast();
        }
    }

    /** An unpacked layer and how many of the store's images use it. */
    public record LayerUse(LayerStore.Layer layer, int images) {
    }

    /** What a removal did, in Docker's terms: the references untagged and the image IDs deleted. */
    public record Removal(List<Reference> untagged, List<Digest> deleted) {
    }

    /** What {@link #gc} freed. */
    public record Freed(int blobs, int layers, long bytes) {
    }

    /** The content of images.json. */
    private record State(Map<Digest, Descriptor> images, Map<String, Descriptor> tags) {
    }

    private final Path root;
    private final BlobStore blobs;
    private final LayerStore layers;
    private final ReentrantLock lock = new ReentrantLock();

    private ImageStore(Path root, BlobStore blobs, LayerStore layers) {
        this.root = root;
        this.blobs = blobs;
        this.layers = layers;
    }

    /** Opens (creating if needed) the store at {@code root}, removing what interrupted writes left. */
    public static ImageStore open(Path root) throws IOException {
        Files.createDirectories(root);
        ImageStore s = new ImageStore(root, BlobStore.open(root), LayerStore.open(root));
        s.removeLeftovers();
        s.read(); // refuse a damaged images.json now, not at the first use
        return s;
    }

    public Path root() {
        return root;
    }

    public BlobStore blobs() {
        return blobs;
    }

    public LayerStore layerStore() {
        return layers;
    }

    // ---- images and tags

    /**
     * Stores an image made here (a build, a commit): the config blob and an OCI manifest blob over
     * {@code layerBlobs} (which must be stored), and records the image, untagged (dangling) until tagged.
     */
    public Image writeImage(ImageConfig config, List<Descriptor> layerBlobs, Map<String, String> annotations)
            throws IOException {
        for (Descriptor l : layerBlobs) {
            if (!blobs.exists(l.digest())) {
                throw new NoSuchFileException(blobs.path(l.digest()).toString(), null,
                        "layer blob " + l.digest() + " is not in the store");
            }
        }
        byte[] configJson = Json.write(config.toJson()).getBytes(StandardCharsets.UTF_8);
        Digest configDigest = blobs.put(new ByteArrayInputStream(configJson), null, configJson.length);
        Manifest manifest = new Manifest(2, MediaType.OCI_MANIFEST,
                Descriptor.of(MediaType.OCI_CONFIG, configDigest, configJson.length), layerBlobs,
                annotations == null ? Map.of() : annotations);
        config.checkLayers(manifest);
        byte[] manifestJson = Json.write(manifest.toJson()).getBytes(StandardCharsets.UTF_8);
        Digest manifestDigest = blobs.put(new ByteArrayInputStream(manifestJson), null, manifestJson.length);
        Descriptor md = Descriptor.of(MediaType.OCI_MANIFEST, manifestDigest, manifestJson.length);
        Image image = load(md);
        update(s -> s.images().put(image.id(), md));
        return withTags(image, read());
    }

    /**
     * Points {@code ref} ({@code name:tag}, or {@code name@digest} for an image pulled by digest) at a stored
     * manifest or index, replacing what it pointed at; records the image (for an index, the manifest for this
     * platform). The blobs must be stored: the manifest (or index and the selected manifest) and the config.
     *
     * @return the image the reference now names
     */
    public Image tag(Reference ref, Descriptor target) throws IOException {
        if (!MediaType.isManifest(target.mediaType()) && !MediaType.isIndex(target.mediaType())) {
            throw new IllegalArgumentException("tag " + ref + ": " + target.digest() + " is a "
                    + target.mediaType() + ", not a manifest or index");
        }
        if (ref.digest() != null && !ref.digest().equals(target.digest())) {
            throw new IllegalArgumentException("tag " + ref + ": the reference's digest is not the target's "
                    + target.digest());
        }
        Image image = load(target);
        update(s -> {
            s.images().put(image.id(), image.manifestDescriptor());
            s.tags().put(ref.toString(), target);
        });
        return withTags(image, read());
    }

    /**
     * Records a stored manifest (or index: the manifest for this platform) as an image without a name, as
     * {@code docker load} does for an archive entry that carries none. The blobs must be stored.
     */
    public Image record(Descriptor target) throws IOException {
        Image image = load(target);
        update(s -> s.images().put(image.id(), image.manifestDescriptor()));
        return withTags(image, read());
    }

    /** Removes a reference; the image stays (dangling if that was its last). @return whether it existed */
    public boolean untag(Reference ref) throws IOException {
        boolean[] had = {false};
        update(s -> had[0] = s.tags().remove(ref.toString()) != null);
        return had[0];
    }

    /** All references and what they point at, sorted. */
    public Map<Reference, Descriptor> tags() throws IOException {
        Map<Reference, Descriptor> out = new LinkedHashMap<>();
        read().tags().forEach((k, v) -> out.put(Reference.parse(k), v));
        return out;
    }

    /** Every image the store keeps, tagged or dangling, in order of ID. */
    public List<Image> images() throws IOException {
        State s = read();
        List<Image> out = new ArrayList<>();
        for (Descriptor md : s.images().values()) {
            out.add(withTags(load(md), s));
        }
        return out;
    }

    /**
     * Finds an image as Docker's commands do: by {@code name[:tag]}, {@code name@digest} (a tag's digest or an
     * image's manifest digest), its full ID ({@code sha256:…} or hex) or a unique prefix of the ID's hex.
     *
     * @throws ImageNotFoundException  naming what was asked for, e.g. {@code No such image: busybox:latest}
     * @throws ImageConflictException  for a prefix of several IDs, listing them
     */
    public Image resolve(String what) throws IOException {
        State s = read();
        Digest id = findId(what, s);
        if (id != null) {
            return withTags(load(s.images().get(id)), s);
        }
        Reference ref;
        try {
            ref = Reference.parse(what);
        } catch (IllegalArgumentException e) {
            throw new ImageNotFoundException(what);
        }
        Descriptor d = s.tags().get(ref.toString());
        if (d == null && ref.digest() != null) {
            for (Map.Entry<String, Descriptor> t : s.tags().entrySet()) {
                if (t.getValue().digest().equals(ref.digest()) && Reference.parse(t.getKey()).name().equals(ref.name())) {
                    d = t.getValue();
                    break;
                }
            }
            if (d == null) {
                for (Descriptor md : s.images().values()) {
                    if (md.digest().equals(ref.digest())) {
                        d = md;
                        break;
                    }
                }
            }
        }
        if (d == null) {
            throw new ImageNotFoundException(ref.familiar());
        }
        return withTags(load(d), s);
    }

    /** The ID that {@code what} names as an ID or ID prefix, or null if it names none. */
    private static Digest findId(String what, State s) throws ImageConflictException {
        String hex = what.startsWith(Digest.SHA256 + ":") ? what.substring(Digest.SHA256.length() + 1) : what;
        boolean full = hex.length() == 64;
        if (!Reference.looksLikeId(what) && !(what.startsWith(Digest.SHA256 + ":") && !hex.isEmpty())) {
            return null;
        }
        List<Digest> matches = new ArrayList<>();
        for (Digest id : s.images().keySet()) {
            if (full ? id.hex().equals(hex) : id.hex().startsWith(hex)) {
                matches.add(id);
            }
        }
        if (matches.size() > 1) {
            throw new ImageConflictException("image ID prefix \"" + what + "\" is ambiguous: it matches "
                    + matches.size() + " images: " + matches.stream().map(Digest::toString).toList(),
                    matches.stream().map(Digest::toString).toList());
        }
        return matches.isEmpty() ? null : matches.getFirst();
    }

    /**
     * Docker's rmi: by reference, untags it, and deletes the image when that was its last reference; by ID,
     * deletes the image with all its references, which needs {@code force} when they are of several
     * repositories. An image {@code inUse} (by a container) is refused without force; with force it is
     * only untagged and kept (dangling), as the container still needs it. Deleting drops the image's record;
     * its blobs and layers are freed by {@link #gc}.
     */
    public Removal remove(String what, boolean force, Predicate<Digest> inUse) throws IOException {
        Removal[] result = new Removal[1];
        State before = read();
        Digest byId = findId(what, before);
        Image image = byId != null ? load(before.images().get(byId)) : resolve(what);
        Reference byRef = byId != null ? null : Reference.parse(what);
        update(s -> {
            List<Reference> refs = refsOf(image.id(), s);
            boolean used = inUse != null && inUse.test(image.id());
            String shortId = image.id().hex().substring(0, 12);
            List<Reference> untagged = new ArrayList<>();
            if (byRef != null) {
                Reference named = refs.stream().filter(r -> r.toString().equals(byRef.toString())).findFirst()
                        .orElse(refs.stream().filter(r -> r.name().equals(byRef.name())).findFirst().orElse(byRef));
                if (refs.size() <= 1 && used && !force) {
                    throw new ImageConflictException("conflict: unable to remove repository reference \""
                            + byRef.familiar() + "\" (must force) - image " + shortId + " is used by a container");
                }
                s.tags().remove(named.toString());
                untagged.add(named);
                if (refs.size() > 1) {
                    result[0] = new Removal(untagged, List.of());
                    return;
                }
            } else {
                Set<String> repos = new HashSet<>();
                refs.forEach(r -> repos.add(r.name()));
                if (repos.size() > 1 && !force) {
                    throw new ImageConflictException("conflict: unable to delete " + shortId
                            + " (must be forced) - image is referenced in multiple repositories");
                }
                if (used && !force) {
                    throw new ImageConflictException("conflict: unable to delete " + shortId
                            + " (must be forced) - image is being used by a container");
                }
                for (Reference r : refs) {
                    s.tags().remove(r.toString());
                    untagged.add(r);
                }
            }
            if (used) {
                result[0] = new Removal(untagged, List.of()); // kept, dangling, for its container
                return;
            }
            s.images().remove(image.id());
            result[0] = new Removal(untagged, List.of(image.id()));
        });
        return result[0];
    }

    /** The references whose image is {@code id}. */
    private List<Reference> refsOf(Digest id, State s) throws IOException {
        List<Reference> out = new ArrayList<>();
        for (Map.Entry<String, Descriptor> t : s.tags().entrySet()) {
            Digest target = imageIdOf(t.getValue());
            if (id.equals(target)) {
                out.add(Reference.parse(t.getKey()));
            }
        }
        return out;
    }

    /** The image ID a tag's target resolves to, or null when its blobs are gone. */
    private Digest imageIdOf(Descriptor d) throws IOException {
        try {
            return load(d).id();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private Image withTags(Image image, State s) throws IOException {
        List<Reference> refs = refsOf(image.id(), s);
        refs.sort((a, b) -> a.toString().compareTo(b.toString()));
        return new Image(image.id(), image.manifestDescriptor(), image.manifest(), image.config(), image.chainIds(),
                refs);
    }

    /** Reads an image from its blobs: an index is resolved to this platform's manifest. */
    public Image load(Descriptor d) throws IOException {
        byte[] json = blobs.read(d.digest());
        Document doc;
        try {
            doc = Document.parse(json, d.mediaType());
        } catch (IllegalArgumentException e) {
            throw new IOException("blob " + d.digest() + ": " + e.getMessage(), e);
        }
        if (doc instanceof Index index) {
            return load(index.select());
        }
        Manifest m = (Manifest) doc;
        if (!m.isImage()) {
            throw new IOException("manifest " + d.digest() + " is not an image (config type " + m.config().mediaType()
                    + ")");
        }
        ImageConfig config;
        try {
            config = ImageConfig.parse(blobs.read(m.config().digest()));
            config.checkLayers(m);
        } catch (IllegalArgumentException e) {
            throw new IOException("image config " + m.config().digest() + ": " + e.getMessage(), e);
        }
        return new Image(m.config().digest(), d, m, config, LayerStore.chainIds(config.rootfs().diffIds()), List.of());
    }

    // ---- layers

    /** Unpacks an image's layers that are not unpacked yet; returns them bottom first. */
    public List<LayerStore.Layer> unpack(Image image) throws IOException {
        return layers.unpack(image.manifest().layers(), image.config().rootfs().diffIds(), blobs);
    }

    /**
     * Unpacks layer {@code index} of the image {@code manifest} and {@code config} describe, before the image is
     * recorded and whether or not the layers below are in yet: what a pull does with each layer as it arrives
     * ({@link io.vessel.image.registry.RegistryClient.LayerSink}).
     */
    public LayerStore.Layer unpackLayer(Manifest manifest, ImageConfig config, int index)
            throws IOException {
        return layers.unpackAhead(manifest.layers(), config.rootfs().diffIds(), index, blobs);
    }

    /**
     * Makes a container's upper directory a layer on top of {@code parentChain}: writes it as a gzip blob, then
     * moves the directory itself in as the layer's directory (no second copy).
     */
    public LayerStore.Layer commitLayer(Path upperDir, Digest parentChain) throws IOException {
        return commitLayer(upperDir, parentChain, LayerWriter.Options.defaults());
    }

    /** {@link #commitLayer(Path, Digest)} with the writer's options (a fixed mtime for reproducible builds). */
    public LayerStore.Layer commitLayer(Path upperDir, Digest parentChain, LayerWriter.Options opts) throws IOException {
        LayerWriter.Stored stored = LayerWriter.store(upperDir, blobs, opts);
        return layers.register(upperDir, parentChain, stored.descriptor(), stored.diffId());
    }

    /** The unpacked layers with how many of the store's images use each. */
    public List<LayerUse> layers() throws IOException {
        Map<Digest, Integer> uses = new HashMap<>();
        for (Image i : images()) {
            for (Digest c : new LinkedHashSet<>(i.chainIds())) {
                uses.merge(c, 1, Integer::sum);
            }
        }
        List<LayerUse> out = new ArrayList<>();
        for (LayerStore.Layer l : layers.list()) {
            out.add(new LayerUse(l, uses.getOrDefault(l.chainId(), 0)));
        }
        return out;
    }

    /**
     * Deletes every blob and layer directory that no image of the store reaches (through index → manifests →
     * config and layers) and that is not in {@code chainIdsInUse} (containers' layer stacks, given by their
     * top chain ID or any of them; those below are kept too). Not to be run while a pull or build of this
     * store has stored blobs it has not yet tagged or recorded.
     */
    public Freed gc(Set<Digest> chainIdsInUse) throws IOException {
        lock.lock();
        try (FileChannel ch = FileChannel.open(root.resolve(STATE_LOCK), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            State s = read();
            Set<Digest> keepBlobs = new HashSet<>();
            Set<Digest> keepChains = new HashSet<>();
            Deque<Descriptor> todo = new ArrayDeque<>();
            todo.addAll(s.images().values());
            todo.addAll(s.tags().values());
            while (!todo.isEmpty()) {
                Descriptor d = todo.pop();
                if (!keepBlobs.add(d.digest()) || !blobs.exists(d.digest())) {
                    continue;
                }
                if (MediaType.isIndex(d.mediaType()) || MediaType.isManifest(d.mediaType())) {
                    Document doc;
                    try {
                        doc = Document.parse(blobs.read(d.digest()), d.mediaType());
                    } catch (IllegalArgumentException e) {
                        throw new IOException("gc: blob " + d.digest() + ": " + e.getMessage(), e);
                    }
                    if (doc instanceof Index index) {
                        todo.addAll(index.manifests());
                    } else if (doc instanceof Manifest m) {
                        todo.add(m.config());
                        todo.addAll(m.layers());
                    }
                }
            }
            for (Descriptor md : s.images().values()) {
                keepChains.addAll(load(md).chainIds());
            }
            for (Digest c : chainIdsInUse) {
                Digest p = c;
                while (p != null) {
                    keepChains.add(p);
                    p = layers.get(p).map(LayerStore.Layer::parent).orElse(null);
                }
            }
            int freedBlobs = 0;
            int freedLayers = 0;
            long bytes = 0;
            for (LayerStore.Layer l : layers.list()) {
                if (!keepChains.contains(l.chainId())) {
                    bytes += layers.delete(l.chainId());
                    freedLayers++;
                }
            }
            for (Digest b : blobs.list()) {
                if (!keepBlobs.contains(b)) {
                    long size = blobs.exists(b) ? blobs.size(b) : 0;
                    blobs.delete(b);
                    bytes += size;
                    freedBlobs++;
                }
            }
            return new Freed(freedBlobs, freedLayers, bytes);
        } finally {
            lock.unlock();
        }
    }

    // ---- images.json

    @FunctionalInterface
    private interface Change {
        void apply(State s) throws IOException;
    }

    /** Read, change, write images.json under the store's lock (this JVM's and the file lock for others). */
    private void update(Change change) throws IOException {
        lock.lock();
        try (FileChannel ch = FileChannel.open(root.resolve(STATE_LOCK), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            State s = read();
            change.apply(s);
            write(s);
        } finally {
            lock.unlock();
        }
    }

    private State read() throws IOException {
        Path f = root.resolve(STATE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return new State(new TreeMap<>(ImageStore::byString), new TreeMap<>());
        }
        try {
            JsonNode n = JsonNode.parse(f.toString(), new String(bytes, StandardCharsets.UTF_8));
            Map<Digest, Descriptor> images = new TreeMap<>(ImageStore::byString);
            JsonNode is = n.get("images");
            for (String k : is.keys()) {
                Digest id;
                try {
                    id = Digest.parse(k);
                } catch (IllegalArgumentException e) {
                    throw is.get(k).fail("key is not an image ID: " + e.getMessage());
                }
                images.put(id, Descriptor.from(is.get(k)));
            }
            Map<String, Descriptor> tags = new TreeMap<>();
            JsonNode ts = n.get("tags");
            for (String k : ts.keys()) {
                try {
                    Reference.parse(k);
                } catch (IllegalArgumentException e) {
                    throw ts.get(k).fail("key is not a reference: " + e.getMessage());
                }
                tags.put(k, Descriptor.from(ts.get(k)));
            }
            return new State(images, tags);
        } catch (IllegalArgumentException e) {
            throw new IOException("image store: " + f + " is damaged: " + e.getMessage(), e);
        }
    }

    private static int byString(Digest a, Digest b) {
        return a.toString().compareTo(b.toString());
    }

    /** Replaces images.json atomically and durably: temp file, fsync, rename, directory fsync. */
    private void write(State s) throws IOException {
        Map<String, Object> images = new LinkedHashMap<>();
        s.images().forEach((k, v) -> images.put(k.toString(), v.toJson()));
        Map<String, Object> tags = new LinkedHashMap<>();
        s.tags().forEach((k, v) -> tags.put(k, v.toJson()));
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("images", images);
        doc.put("tags", tags);
        byte[] bytes = Json.writePretty(doc).getBytes(StandardCharsets.UTF_8);
        Path tmp = root.resolve(STATE_TMP + ProcessHandle.current().pid() + "-" + UUID.randomUUID());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer bb = ByteBuffer.wrap(bytes);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                ch.force(true);
            }
            Files.move(tmp, root.resolve(STATE), StandardCopyOption.ATOMIC_MOVE);
            LayerStore.force(root);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Removes images.json temp files of dead processes. */
    private void removeLeftovers() throws IOException {
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, STATE_TMP + "*")) {
            for (Path p : ds) {
                String rest = p.getFileName().toString().substring(STATE_TMP.length());
                int dash = rest.indexOf('-');
                long pid = -1;
                try {
                    pid = dash > 0 ? Long.parseLong(rest.substring(0, dash)) : -1;
                } catch (NumberFormatException e) {
                    // a name not ours: remove
                }
                if (pid == self || (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))) {
                    continue;
                }
                Files.deleteIfExists(p);
            }
        }
    }
}
