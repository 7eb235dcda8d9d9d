package io.vessel.engine;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Platform;
import io.vessel.image.registry.CredentialStore;
import io.vessel.image.registry.Credentials;
import io.vessel.image.registry.ProgressListener;
import io.vessel.image.registry.PullResult;
import io.vessel.image.registry.RegistryClient;
import io.vessel.image.registry.RegistryConfig;
import io.vessel.image.store.ImageNotFoundException;
import io.vessel.image.store.ImageStore;
import io.vessel.image.store.ImageStore.Image;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The engine's image verbs, shaped as the Docker API serves them (list, pull, push, tag, remove,
 * inspect, prune), over the image store and the registry client. Every verb that adds content takes
 * the engine's lock against garbage collection, which must not see blobs that are stored but not yet
 * tagged.
 */
public final class Images {
    /** A row of {@code vessel images}, as Docker's ImageSummary. */
    public record Summary(Digest id, List<String> repoTags, List<String> repoDigests, Instant created, long size) {
    }

    private final Engine engine;
    private final ImageStore store;

    Images(Engine engine, ImageStore store) {
        this.engine = engine;
        this.store = store;
    }

    public ImageStore store() {
        return store;
    }

    Engine engine() {
        return engine;
    }

    /** Images with at least one tag, and dangling ones; build intermediates only with {@code all}. */
    public List<Summary> list(boolean all) throws IOException {
        List<Summary> out = new ArrayList<>();
        for (Image i : store.images()) {
            boolean intermediate = i.tags().isEmpty() && i.manifest().annotations().containsKey(Engine.BUILD_STEP_ANNOTATION);
            if (intermediate && !all) {
                continue;
            }
            List<String> tags = new ArrayList<>();
            List<String> digests = new ArrayList<>();
            for (Reference r : i.tags()) {
                (r.digest() != null && r.tag() == null ? digests : tags).add(r.familiar());
            }
            out.add(new Summary(i.id(), tags, digests, created(i.config()), size(i)));
        }
        out.sort((a, b) -> b.created().compareTo(a.created()));
        return out;
    }

    static Instant created(ImageConfig c) {
        try {
            return c.created() == null ? Instant.EPOCH : Instant.parse(c.created());
        } catch (RuntimeException e) {
            return Instant.EPOCH;
        }
    }

    /** The image's size as Docker reports it: the sum of its layers' compressed sizes. */
    static long size(Image i) {
        long s = 0;
        for (Descriptor d : i.manifest().layers()) {
            s += d.size();
        }
        return s;
    }

    /**
     * Finds an image; a reference that is not in the store is pulled when {@code pull} is set, except
     * Vessel's built-in busybox, which is made locally.
     */
    public Image find(String what, boolean pull, ProgressListener progress) throws IOException {
        try {
            return store.resolve(what);
        } catch (ImageNotFoundException e) {
            Reference ref;
            try {
                ref = Reference.parse(what);
            } catch (IllegalArgumentException bad) {
                throw e;
            }
            if (BuiltinImages.provides(ref)) {
                return BuiltinImages.install(this, ref);
            }
            if (!pull) {
                throw e;
            }
            return pull(what, null, progress);
        }
    }

    /** Pulls {@code what} for {@code platform} (default linux/amd64), tags it, and unpacks its layers. */
    public Image pull(String what, String platform, ProgressListener progress) throws IOException {
        return pull(what, platform, progress, null);
    }

    /**
     * Pulls as {@link #pull(String, String, ProgressListener)}, authenticating with {@code auth}
     * instead of the credentials file when it is given (the daemon's {@code X-Registry-Auth}).
     */
    public Image pull(String what, String platform, ProgressListener progress, Credentials auth) throws IOException {
        Reference ref = Reference.parse(what);
        Platform p = platform == null || platform.isEmpty() ? Platform.LINUX_AMD64 : Platform.parse(platform);
        try (Engine.Lease ignored = engine.lease(); Client client = client(ref.domain(), auth)) {
            long t0 = System.nanoTime();
            // Each layer is unpacked as soon as it is stored, while the others still download.
            PullResult r = client.client().pull(ref, p, store.blobs(), progress, (manifest, config, index) -> {
                store.unpackLayer(manifest, config, index);
                progress.onEvent(new ProgressListener.ProgressEvent(manifest.layers().get(index).digest().hex()
                        .substring(0, 12), ProgressListener.State.PULL_COMPLETE, 0, 0, ""));
            });
            long t1 = System.nanoTime();
            Image image = store.tag(ref, r.top());
            store.unpack(image);
            if (System.getenv("VESSEL_TRACE") != null) {
                System.err.printf("pull: download and unpack %d ms, then %d ms to record%n", (t1 - t0) / 1_000_000,
                        (System.nanoTime() - t1) / 1_000_000);
            }
            return store.resolve(image.id().toString());
        }
    }

    /** Pushes the image tagged {@code what} to the registry its name says. */
    public void push(String what, ProgressListener progress) throws IOException {
        push(what, progress, null);
    }

    /** Pushes as {@link #push(String, ProgressListener)}; returns the pushed manifest's descriptor. */
    public Descriptor push(String what, ProgressListener progress, Credentials auth) throws IOException {
        Reference ref = Reference.parse(what);
        Descriptor top = store.tags().get(ref);
        if (top == null) {
            throw new ImageNotFoundException(ref.familiar());
        }
        try (Client client = client(ref.domain(), auth)) {
            client.client().push(ref, top, store.blobs(), progress, Map.of());
        }
        return top;
    }

    /** Saves credentials for {@code registry} in the credentials file (docker login); the next pull or push uses them. */
    public void login(String registry, Credentials credentials) throws IOException {
        CredentialStore cs = new CredentialStore(engine.config().credentials());
        cs.save(registry, credentials);
    }

    /** Checks {@code auth} against {@code registry} without storing it (the daemon's {@code /auth}). */
    public void checkLogin(String registry, Credentials auth) throws IOException {
        try (Client client = client(registry, auth)) {
            client.client().checkLogin(registry);
        }
    }

    public void tag(String source, String target) throws IOException {
        Image image = store.resolve(source);
        Reference ref = Reference.parse(target);
        if (ref.digest() != null) {
            throw new IllegalArgumentException("refusing to create a tag with a digest reference: " + target);
        }
        store.tag(ref, image.manifestDescriptor());
    }

    /** Docker's rmi, then frees what no image and no container uses any more. Returns docker's lines. */
    public List<String> remove(String what, boolean force) throws IOException {
        ImageStore.Removal r = removal(what, force);
        List<String> lines = new ArrayList<>();
        for (Reference u : r.untagged()) {
            lines.add("Untagged: " + u.familiar());
        }
        for (Digest d : r.deleted()) {
            lines.add("Deleted: " + d);
        }
        return lines;
    }

    /** Docker's rmi as what it untagged and deleted; then frees what nothing uses any more. */
    public ImageStore.Removal removal(String what, boolean force) throws IOException {
        Set<Digest> used = engine.containers().imagesInUse();
        Predicate<Digest> inUse = used::contains;
        ImageStore.Removal r = store.remove(what, force, inUse);
        if (!r.deleted().isEmpty()) {
            engine.collectGarbage();
        }
        return r;
    }

    /** Removes dangling images (all unused ones with {@code all}) and frees their content. */
    public ImageStore.Freed prune(boolean all) throws IOException {
        Set<Digest> used = engine.containers().imagesInUse();
        for (Image i : store.images()) {
            if (used.contains(i.id()) || (!all && !i.tags().isEmpty())) {
                continue;
            }
            if (i.manifest().annotations().containsKey(Engine.BUILD_STEP_ANNOTATION) && i.tags().isEmpty() && !all) {
                continue; // the build cache: `vessel builder prune` or prune --all
            }
            store.remove(i.id().toString(), true, used::contains);
        }
        return engine.collectGarbage();
    }

    /** Docker's image inspect document. */
    public Map<String, Object> inspect(String what) throws IOException {
        Image i = store.resolve(what);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Id", i.id().toString());
        List<String> tags = new ArrayList<>();
        List<String> digests = new ArrayList<>();
        for (Reference r : i.tags()) {
            if (r.tag() != null) {
                tags.add(r.familiar());
            }
            digests.add(r.withDigest(i.manifestDescriptor().digest()).familiarName() + "@" + i.manifestDescriptor().digest());
        }
        m.put("RepoTags", tags);
        m.put("RepoDigests", digests.stream().distinct().toList());
        m.put("Created", i.config().created() == null ? "" : i.config().created());
        m.put("Author", i.config().author() == null ? "" : i.config().author());
        m.put("Config", i.config().config().toJson());
        m.put("Architecture", i.config().architecture());
        m.put("Os", i.config().os());
        if (i.config().variant() != null) {
            m.put("Variant", i.config().variant());
        }
        m.put("Size", size(i));
        m.put("RootFS", i.config().rootfs().toJson());
        Map<String, Object> desc = new LinkedHashMap<>();
        desc.put("mediaType", i.manifestDescriptor().mediaType());
        desc.put("digest", i.manifestDescriptor().digest().toString());
        desc.put("size", i.manifestDescriptor().size());
        m.put("Descriptor", desc);
        return m;
    }

    /**
     * A registry client with the credentials file, or with {@code auth} for {@code registry} alone:
     * those go to a private file of their own for the client's life, never into the user's file.
     */
    private record Client(RegistryClient client, java.nio.file.Path scratch) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            client.close();
            if (scratch != null) {
                io.vessel.linux.FileTrees.remove(scratch);
            }
        }
    }

    private Client client(String registry, Credentials auth) throws IOException {
        CredentialStore credentials = new CredentialStore(engine.config().credentials());
        java.nio.file.Path scratch = null;
        if (auth != null) {
            scratch = java.nio.file.Files.createTempDirectory(engine.config().root(), ".auth-");
            credentials = new CredentialStore(scratch.resolve("config.json"));
            credentials.save(registry, auth);
        }
        RegistryConfig rc = RegistryConfig.of(credentials).withInsecure(Set.copyOf(engine.config().insecureRegistries()));
        return new Client(new RegistryClient(rc), scratch);
    }
}
