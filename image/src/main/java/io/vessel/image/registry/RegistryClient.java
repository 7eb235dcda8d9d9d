package io.vessel.image.registry;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.Document;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Index;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.oci.Platform;
import io.vessel.image.registry.ProgressListener.ProgressEvent;
import io.vessel.image.registry.ProgressListener.State;
import io.vessel.image.store.BlobStore;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Pulls images from and pushes images to registries that speak the OCI distribution spec (Docker
 * Hub, the distribution registry, ...), reading and writing a {@link BlobStore}. It does not tag:
 * a pull returns the descriptors it stored, a push takes the descriptor to publish.
 *
 * <p>Everything that arrives is verified before it is stored: manifests by their digest (the
 * reference's, when pulling by digest, and the registry's Docker-Content-Digest), blobs by digest
 * and size. Layers move in parallel and downloads resume where an earlier attempt stopped.
 * Thread-safe; one client can serve many pulls and pushes and caches tokens between them.
 */
public final class RegistryClient implements AutoCloseable {
    /** What the manifests endpoint may answer with, best first. */
    static final String ACCEPT = String.join(", ", MediaType.OCI_INDEX, MediaType.OCI_MANIFEST,
            MediaType.DOCKER_MANIFEST_LIST, MediaType.DOCKER_MANIFEST);
    /** Largest manifest or index accepted (the distribution registry's own limit is 4 MiB). */
    static final int MAX_MANIFEST = 4 << 20;

    private final RegistryConfig config;
    private final Transport transport;
    private final BlobDownloader downloader;
    private final BlobUploader uploader;

    public RegistryClient(RegistryConfig config) {
        this.config = config;
        this.transport = new Transport(config);
        this.downloader = new BlobDownloader(transport, config.retries());
        this.uploader = new BlobUploader(transport, config.chunkSize(), config.timeout());
    }

    public RegistryConfig config() {
        return config;
    }

    /**
     * Checks that {@code registry} accepts the configured credentials, as {@code docker login} does:
     * {@code GET /v2/}, authorized (basic, or a token without scopes) if the registry asks.
     *
     * @throws RegistryException {@link RegistryException#unauthorized()} when they are refused
     */
    public void checkLogin(String registry) throws IOException {
        Transport.Op op = new Transport.Op(registry, null, "login");
        HttpResponse<InputStream> r = transport.send(op, List.of(), u -> HttpRequest.newBuilder(u).GET()
                .timeout(config.timeout()), transport.base(registry), false);
        Transport.drain(r);
    }

    /**
     * Pulls {@code ref} into {@code store}: its manifest (and index, choosing {@code platform}), the
     * config and the layers, skipping blobs the store has. Manifests are stored last, so a stored
     * manifest's blobs are all there.
     *
     * @throws RegistryException                      naming registry, repository and what failed
     * @throws io.vessel.image.oci.PlatformNotFoundException listing the index's platforms
     */
    public PullResult pull(Reference ref, Platform platform, BlobStore store, ProgressListener listener)
            throws IOException {
        return pull(ref, platform, store, listener, null);
    }

    /**
     * Receives each layer of an image as soon as its blob is in the store, on the thread that fetched
     * it, while other layers may still be downloading: unpacking there overlaps the download of the
     * rest. An exception fails the pull.
     */
    @FunctionalInterface
    public interface LayerSink {
        /**
         * Layer {@code index} of {@code manifest} is stored (downloaded now or found in the store);
         * {@code config} is the image's verified config, whose {@code rootfs.diff_ids} match the layers.
         */
        void stored(Manifest manifest, ImageConfig config, int index) throws IOException;
    }

    /**
     * {@link #pull(Reference, Platform, BlobStore, ProgressListener)}, handing each stored layer of an
     * image manifest to {@code sink} (null for none) as the download goes on.
     */
    public PullResult pull(Reference ref, Platform platform, BlobStore store, ProgressListener listener,
                           LayerSink sink) throws IOException {
        Transport.Op op = new Transport.Op(ref.domain(), ref.path(), "pull");
        List<String> scopes = List.of("repository:" + ref.path() + ":pull");
        Fetched top = fetchManifest(op, scopes, ref.path(), ref.manifestReference(), ref.digest());
        Fetched image = top;
        Descriptor manifestDescriptor = top.descriptor(null);
        if (top.document() instanceof Index index) {
            Descriptor chosen = index.select(platform);
            image = fetchManifest(op, scopes, ref.path(), chosen.digest().toString(), chosen.digest());
            if (!(image.document() instanceof Manifest)) {
                throw op.fail(0, "MANIFEST_INVALID", "index entry " + chosen.digest() + " for " + platform
                        + " is not an image manifest but " + image.document().mediaType());
            }
            if (image.bytes().length != chosen.size()) {
                throw op.fail(0, "SIZE_INVALID", "manifest " + chosen.digest() + " has " + image.bytes().length
                        + " bytes, the index says " + chosen.size());
            }
            manifestDescriptor = image.descriptor(chosen.platform());
        }
        Manifest manifest = (Manifest) image.document();
        downloader.download(op, scopes, ref.path(), manifest.config(), store, ProgressListener.NONE);
        ImageConfig config = null;
        if (manifest.isImage()) {
            try {
                config = ImageConfig.parse(store.read(manifest.config().digest()));
                config.checkLayers(manifest);
            } catch (IllegalArgumentException e) {
                throw op.fail(0, "CONFIG_INVALID", "config " + manifest.config().digest() + ": " + e.getMessage());
            }
        }
        Map<Digest, Descriptor> byDigest = new LinkedHashMap<>();
        for (Descriptor l : manifest.layers()) {
            byDigest.putIfAbsent(l.digest(), l); // a layer listed twice is fetched once
        }
        List<Descriptor> unique = List.copyOf(byDigest.values());
        for (Descriptor l : unique) {
            listener.onEvent(new ProgressEvent(BlobDownloader.shortId(l), State.WAITING, 0, l.size(), ""));
        }
        List<IoTask> tasks = new ArrayList<>();
        ImageConfig verified = config;
        for (Descriptor l : unique) {
            tasks.add(() -> {
                downloader.download(op, scopes, ref.path(), l, store, listener);
                if (sink != null && verified != null) {
                    for (int i = 0; i < manifest.layers().size(); i++) {
                        if (manifest.layers().get(i).digest().equals(l.digest())) {
                            sink.stored(manifest, verified, i);
                        }
                    }
                }
            });
        }
        runAll(tasks);
        store.put(new ByteArrayInputStream(image.bytes()), image.digest(), image.bytes().length);
        if (top != image) {
            store.put(new ByteArrayInputStream(top.bytes()), top.digest(), top.bytes().length);
        }
        return new PullResult(top.descriptor(null), manifestDescriptor, manifest.config(), manifest.layers());
    }

    /**
     * Pushes the image or index {@code top} from {@code store} to {@code ref} (its tag, or its digest,
     * which must then be top's): the blobs the registry lacks, then the manifests, children before
     * the index.
     *
     * @param mountSources repositories on the same registry known to hold a blob (e.g. it was pulled
     *                     from there), to mount it instead of uploading; a value may be a path
     *                     ({@code library/busybox}) or {@code registry/path}; other registries' are ignored
     */
    public void push(Reference ref, Descriptor top, BlobStore store, ProgressListener listener,
                     Map<Digest, String> mountSources) throws IOException {
        Transport.Op op = new Transport.Op(ref.domain(), ref.path(), "push");
        if (ref.digest() != null && !ref.digest().equals(top.digest())) {
            throw op.fail(0, null, "the reference names digest " + ref.digest() + " but the image is " + top.digest());
        }
        Document document = readDocument(op, store, top);
        List<Descriptor> manifests = new ArrayList<>();
        Map<Digest, Descriptor> blobs = new LinkedHashMap<>();
        if (document instanceof Index index) {
            for (Descriptor child : index.manifests()) {
                if (!(readDocument(op, store, child) instanceof Manifest m)) {
                    throw op.fail(0, null, "index " + top.digest() + " entry " + child.digest()
                            + " is not an image manifest; nested indexes are not pushed");
                }
                manifests.add(child);
                addBlobs(blobs, m);
            }
        } else {
            addBlobs(blobs, (Manifest) document);
        }
        for (Descriptor b : blobs.values()) {
            listener.onEvent(new ProgressEvent(BlobDownloader.shortId(b), State.PREPARING, 0, b.size(), ""));
        }
        List<IoTask> tasks = new ArrayList<>();
        for (Descriptor b : blobs.values()) {
            String from = mountSource(ref.domain(), mountSources.get(b.digest()));
            tasks.add(() -> uploader.upload(op, ref.path(), b, store, from, listener));
        }
        runAll(tasks);
        for (Descriptor child : manifests) {
            putManifest(op, ref.path(), child.digest().toString(), child, store);
        }
        putManifest(op, ref.path(), ref.tag() != null ? ref.tag() : top.digest().toString(), top, store);
    }

    private static void addBlobs(Map<Digest, Descriptor> blobs, Manifest m) {
        blobs.putIfAbsent(m.config().digest(), m.config());
        for (Descriptor l : m.layers()) {
            blobs.putIfAbsent(l.digest(), l);
        }
    }

    private static String mountSource(String registry, String source) {
        if (source == null || source.isEmpty()) {
            return null;
        }
        if (source.startsWith(registry + "/")) {
            return source.substring(registry.length() + 1);
        }
        int slash = source.indexOf('/');
        String head = slash < 0 ? "" : source.substring(0, slash);
        if (head.contains(".") || head.contains(":") || head.equals("localhost")) {
            return null; // another registry's repository
        }
        return source;
    }

    static List<String> pushScopes(String repository) {
        return List.of("repository:" + repository + ":pull,push");
    }

    private Document readDocument(Transport.Op op, BlobStore store, Descriptor d) throws IOException {
        if (!store.exists(d.digest())) {
            throw op.fail(0, "MANIFEST_UNKNOWN", "manifest " + d.digest() + " is not in the local store " + store.root());
        }
        try {
            return Document.parse(store.read(d.digest()), d.mediaType());
        } catch (IllegalArgumentException e) {
            throw op.fail(0, "MANIFEST_INVALID", "stored manifest " + d.digest() + ": " + e.getMessage());
        }
    }

    private void putManifest(Transport.Op op, String repository, String reference, Descriptor d, BlobStore store)
            throws IOException {
        byte[] bytes = store.read(d.digest());
        URI uri = transport.base(op.registry()).resolve(repository + "/manifests/" + reference);
        HttpResponse<InputStream> r = transport.send(op, pushScopes(repository), u -> HttpRequest.newBuilder(u)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .header("Content-Type", d.mediaType())
                .timeout(config.timeout()), uri, false);
        Transport.drain(r);
        if (r.statusCode() != 201) {
            throw op.fail(r.statusCode(), null, "manifest " + d.digest() + ": expected 201, got " + r.statusCode());
        }
        BlobUploader.checkDigest(op, r, d.digest(), "manifest");
    }

    /** A manifest or index as received, verified against its digest. */
    private record Fetched(byte[] bytes, Digest digest, Document document) {
        Descriptor descriptor(Platform platform) {
            return new Descriptor(document.mediaType(), digest, bytes.length, List.of(), Map.of(), platform);
        }
    }

    private Fetched fetchManifest(Transport.Op op, List<String> scopes, String repository, String reference,
                                  Digest expected) throws IOException {
        URI uri = transport.base(op.registry()).resolve(repository + "/manifests/" + reference);
        HttpResponse<InputStream> r;
        try {
            r = transport.send(op, scopes, u -> HttpRequest.newBuilder(u).GET()
                    .header("Accept", ACCEPT).timeout(config.timeout()), uri, false);
        } catch (RegistryException e) {
            if (!e.notFound()) {
                throw e;
            }
            String what = "NAME_UNKNOWN".equals(e.code()) ? "repository " + repository + " not found"
                    : "manifest " + reference + " not found";
            throw new RegistryException(op.registry(), op.repository(), op.operation(), e.status(), e.code(),
                    what + " (" + (e.code() == null ? "HTTP 404" : e.code()) + ")", e);
        }
        if (r.statusCode() != 200) {
            Transport.drain(r);
            throw op.fail(r.statusCode(), null, "manifest " + reference + ": expected 200, got " + r.statusCode());
        }
        byte[] bytes;
        try (InputStream in = r.body()) {
            bytes = in.readNBytes(MAX_MANIFEST + 1);
        }
        if (bytes.length > MAX_MANIFEST) {
            throw op.fail(200, "MANIFEST_INVALID", "manifest " + reference + " is larger than " + MAX_MANIFEST + " bytes");
        }
        Digest digest = Digest.of(expected != null ? expected.algorithm() : Digest.SHA256, bytes);
        if (expected != null && !expected.equals(digest)) {
            throw op.fail(200, "DIGEST_INVALID", "the registry sent a manifest with digest " + digest
                    + " for " + expected + "; refused");
        }
        String header = r.headers().firstValue("Docker-Content-Digest").orElse(null);
        if (header != null) {
            Digest claimed;
            try {
                claimed = Digest.parse(header.trim());
            } catch (IllegalArgumentException e) {
                throw op.fail(200, "DIGEST_INVALID", "Docker-Content-Digest of manifest " + reference + ": "
                        + e.getMessage());
            }
            Digest actual = claimed.algorithm().equals(digest.algorithm()) ? digest
                    : Digest.of(claimed.algorithm(), bytes);
            if (!claimed.equals(actual)) {
                throw op.fail(200, "DIGEST_INVALID", "manifest " + reference + " hashes to " + actual
                        + " but the registry says it is " + claimed + "; refused");
            }
        }
        String contentType = r.headers().firstValue("Content-Type").orElse("");
        int semi = contentType.indexOf(';');
        contentType = (semi >= 0 ? contentType.substring(0, semi) : contentType).trim();
        Document document;
        try {
            document = Document.parse(bytes, contentType);
        } catch (IllegalArgumentException e) {
            throw op.fail(200, "MANIFEST_INVALID", "manifest " + reference + " (" + digest + ", served as \""
                    + contentType + "\") is not an image manifest or index: " + e.getMessage());
        }
        return new Fetched(bytes, digest, document);
    }

    @FunctionalInterface
    private interface IoTask {
        void run() throws IOException;
    }

    /** Runs tasks {@code parallelism} at a time; the first failure cancels the rest and is thrown. */
    private void runAll(List<IoTask> tasks) throws IOException {
        if (tasks.isEmpty()) {
            return;
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(config.parallelism(), tasks.size()),
                Thread.ofPlatform().name("vessel-registry-", 0).daemon().factory());
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (IoTask t : tasks) {
                futures.add(pool.submit(() -> {
                    t.run();
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    pool.shutdownNow();
                    Throwable cause = e.getCause();
                    if (cause instanceof IOException io) {
                        throw io;
                    }
                    if (cause instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new IOException(cause);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while transferring layers");
        } finally {
            pool.shutdownNow();
            try {
                pool.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        transport.close();
    }
}
