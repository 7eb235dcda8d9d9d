package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.ImageHistory;
import io.vessel.engine.Images;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.engine.events.Event;
import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.registry.Credentials;
import io.vessel.image.registry.ProgressListener;
import io.vessel.image.store.ImageStore;
import io.vessel.image.store.ImageStore.Image;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The image endpoints: list, pull and import ({@code /images/create}), inspect, tag, remove, push,
 * save ({@code /get}), load, prune.
 */
final class ImageRoutes {
    private static final Set<String> LIST_FILTERS = Set.of("dangling", "reference", "label", "before", "since");
    private static final Set<String> PRUNE_FILTERS = Set.of("dangling", "label");
    /** Least time between two byte-count messages of one layer: a progress bar needs no more. */
    private static final long PROGRESS_INTERVAL_NANOS = 100_000_000L;
    /** The API version that dropped VirtualSize from image summaries and inspect. */
    private static final int VIRTUAL_SIZE_DROPPED_MINOR = 44;

    private final Engine engine;

    ImageRoutes(Engine engine) {
        this.engine = engine;
    }

    void register(Router r) {
        r.get("/images/json", this::list);
        r.post("/images/create", this::create);
        r.get("/images/get", this::saveMany);
        r.post("/images/load", this::load);
        r.post("/images/prune", this::prune);
        r.get("/images/{name*}/json", this::inspect);
        r.get("/images/{name*}/history", this::history);
        r.post("/images/{name*}/tag", this::tag);
        r.post("/images/{name*}/push", this::push);
        r.get("/images/{name*}/get", this::saveOne);
        r.delete("/images/{name*}", this::remove);
    }

    // ---- list ----

    private void list(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), LIST_FILTERS);
        Boolean dangling = f.bool("dangling");
        ImageStore store = engine.images().store();
        Instant before = f.has("before") ? created(store.resolve(f.get("before").getFirst())) : null;
        Instant since = f.has("since") ? created(store.resolve(f.get("since").getFirst())) : null;
        List<Pattern> refs = f.get("reference").stream().map(Filters::glob).toList();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Images.Summary s : engine.images().list(req.queryBool("all", false))) {
            Image i = store.resolve(s.id().toString());
            boolean isDangling = s.repoTags().isEmpty();
            if (dangling != null && dangling != isDangling) {
                continue;
            }
            if (before != null && !s.created().isBefore(before) || since != null && !s.created().isAfter(since)) {
                continue;
            }
            if (!refs.isEmpty()) {
                // as dockerd: only the names that match are listed
                List<String> matching = s.repoTags().stream().filter(t -> referenceMatches(refs, t)).toList();
                if (matching.isEmpty()) {
                    continue;
                }
                s = new Images.Summary(s.id(), matching, s.repoDigests(), s.created(), s.size());
            }
            if (!f.labelsMatch("label", i.config().config().labels())) {
                continue;
            }
            out.add(summaryJson(s, i));
        }
        ex.json(Status.OK, out);
    }

    private static Instant created(Image i) {
        try {
            return i.config().created() == null ? Instant.EPOCH : Instant.parse(i.config().created());
        } catch (RuntimeException e) {
            return Instant.EPOCH;
        }
    }

    /** Docker's reference filter: the pattern against the familiar name, with and without the tag. */
    private static boolean referenceMatches(List<Pattern> patterns, String familiar) {
        int colon = familiar.lastIndexOf(':');
        String name = colon > familiar.lastIndexOf('/') ? familiar.substring(0, colon) : familiar;
        for (Pattern p : patterns) {
            if (p.matcher(familiar).matches() || p.matcher(name).matches()) {
                return true;
            }
        }
        return false;
    }

    static Map<String, Object> summaryJson(Images.Summary s, Image i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Containers", -1);
        m.put("Created", s.created().getEpochSecond());
        m.put("Id", s.id().toString());
        m.put("Labels", i.config().config().labels());
        m.put("ParentId", "");
        m.put("RepoDigests", s.repoDigests());
        m.put("RepoTags", s.repoTags());
        m.put("SharedSize", -1);
        m.put("Size", s.size());
        if (DockerApi.version().before(1, VIRTUAL_SIZE_DROPPED_MINOR)) {
            m.put("VirtualSize", s.size());
        }
        return m;
    }

    // ---- inspect, tag, remove ----

    private void inspect(HttpRequest req, HttpExchange ex) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>(engine.images().inspect(req.param("name")));
        m.put("Parent", "");
        m.put("Comment", newestComment(engine.images().store().resolve(req.param("name"))));
        m.put("DockerVersion", "");
        if (DockerApi.version().before(1, VIRTUAL_SIZE_DROPPED_MINOR)) {
            m.put("VirtualSize", m.get("Size"));
        }
        m.put("GraphDriver", Map.of("Name", "overlay", "Data", Map.of()));
        m.put("Metadata", Map.of("LastTagTime", "0001-01-01T00:00:00Z"));
        ex.json(Status.OK, m);
    }

    /** An image's Comment: its newest step's (what docker commit -m gave), as dockerd keeps it. */
    private static String newestComment(Image i) {
        var history = i.config().history();
        String c = history.isEmpty() ? null : history.getLast().comment();
        return c == null ? "" : c;
    }

    /** docker history: dockerd's HistoryResponseItem per step, newest first. */
    private void history(HttpRequest req, HttpExchange ex) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ImageHistory.Entry e : ImageHistory.of(engine.images().store(), req.param("name"))) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Id", e.id());
            m.put("Created", e.created() == null ? 0L : e.created().getEpochSecond());
            m.put("CreatedBy", e.createdBy());
            m.put("Tags", e.tags().isEmpty() ? null : e.tags());
            m.put("Size", e.size());
            m.put("Comment", e.comment());
            out.add(m);
        }
        ex.json(Status.OK, out);
    }

    private void tag(HttpRequest req, HttpExchange ex) throws IOException {
        String repo = req.query("repo");
        if (repo == null || repo.isEmpty()) {
            throw ApiException.badRequest("the query parameter repo is required: the repository to tag the image into");
        }
        String tag = req.query("tag", "");
        String target = tag.isEmpty() ? repo : repo + ":" + tag;
        Reference.parse(target); // a 400 naming the bad reference before anything is looked up
        Image image = engine.images().store().resolve(req.param("name"));
        engine.images().tag(req.param("name"), target);
        publish("tag", image.id().toString(), Reference.parse(target).familiar());
        ex.empty(Status.CREATED);
    }

    private void remove(HttpRequest req, HttpExchange ex) throws IOException {
        ImageStore.Removal r = engine.images().removal(req.param("name"), req.queryBool("force", false));
        List<Map<String, Object>> out = new ArrayList<>();
        for (Reference u : r.untagged()) {
            out.add(Map.of("Untagged", u.familiar()));
            publish("untag", u.familiar(), u.familiar());
        }
        for (Digest d : r.deleted()) {
            out.add(Map.of("Deleted", d.toString()));
            publish("delete", d.toString(), d.toString());
        }
        ex.json(Status.OK, out);
    }

    private void prune(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), PRUNE_FILTERS);
        Boolean dangling = f.bool("dangling");
        if (f.has("label")) {
            throw ApiException.badRequest("invalid filter 'label': pruning images by label is not supported");
        }
        ImageStore store = engine.images().store();
        Map<Digest, List<Reference>> beforePrune = new LinkedHashMap<>();
        for (Image i : store.images()) {
            beforePrune.put(i.id(), i.tags());
        }
        ImageStore.Freed freed = engine.images().prune(dangling != null && !dangling);
        Set<Digest> left = new HashSet<>();
        for (Image i : store.images()) {
            left.add(i.id());
        }
        List<Map<String, Object>> deleted = new ArrayList<>();
        for (Map.Entry<Digest, List<Reference>> e : beforePrune.entrySet()) {
            if (left.contains(e.getKey())) {
                continue;
            }
            for (Reference t : e.getValue()) {
                deleted.add(Map.of("Untagged", t.familiar()));
            }
            deleted.add(Map.of("Deleted", e.getKey().toString()));
            publish("delete", e.getKey().toString(), e.getKey().toString());
        }
        ex.json(Status.OK, Map.of("ImagesDeleted", deleted, "SpaceReclaimed", freed.bytes()));
    }

    // ---- pull and import ----

    private void create(HttpRequest req, HttpExchange ex) throws Exception {
        String fromImage = req.query("fromImage", "");
        String fromSrc = req.query("fromSrc", "");
        if (!fromImage.isEmpty() && !fromSrc.isEmpty()) {
            throw ApiException.badRequest("fromImage and fromSrc cannot both be given");
        }
        if (!fromSrc.isEmpty()) {
            importImage(req, ex, fromSrc);
        } else if (!fromImage.isEmpty()) {
            pull(req, ex, fromImage);
        } else {
            throw ApiException.badRequest("either fromImage (to pull) or fromSrc (to import) is required");
        }
    }

    private void pull(HttpRequest req, HttpExchange ex, String fromImage) throws Exception {
        String tag = req.query("tag", "");
        String what;
        if (tag.isEmpty()) {
            Reference given = Reference.parse(fromImage);
            if (!fromImage.contains(":") || fromImage.lastIndexOf(':') < fromImage.lastIndexOf('/')) {
                if (given.digest() == null) {
                    throw ApiException.badRequest("pulling all tags of a repository (docker pull --all-tags) is not supported: name a tag");
                }
            }
            what = fromImage;
        } else {
            what = fromImage + (tag.startsWith("sha256:") ? "@" : ":") + tag;
        }
        Reference ref = Reference.parse(what);
        Credentials auth = registryAuth(req);
        ImageStore store = engine.images().store();
        Descriptor had = store.tags().get(ref);
        try (JsonStream out = new JsonStream(ex)) {
            String shown = ref.tag() != null ? ref.tag() : ref.digest().toString();
            ProgressListener listener = new PullProgress(out, shown, ref.familiarName());
            try {
                Image image = engine.images().pull(what, req.query("platform"), listener, auth);
                Descriptor now = store.tags().get(ref);
                out.status("Digest: " + image.manifestDescriptor().digest());
                out.status((had != null && now != null && had.digest().equals(now.digest())
                        ? "Status: Image is up to date for " : "Status: Downloaded newer image for ") + ref.familiar());
                publish("pull", ref.familiar(), ref.familiar());
            } catch (Exception e) {
                out.fail(e);
            }
        }
    }

    /** Turns the registry client's events into Docker's per-layer progress messages. */
    private static final class PullProgress implements ProgressListener {
        private final JsonStream out;
        private final Map<String, Long> lastSent = new ConcurrentHashMap<>();
        private final String shown;
        private final String repository;
        private final java.util.concurrent.atomic.AtomicBoolean headerSent = new java.util.concurrent.atomic.AtomicBoolean();

        PullProgress(JsonStream out, String shown, String repository) {
            this.out = out;
            this.shown = shown;
            this.repository = repository;
        }

        @Override
        public void onEvent(ProgressEvent e) {
            try {
                if (headerSent.compareAndSet(false, true)) {
                    out.status(shown, "Pulling from " + repository);
                }
                if (lastSent.putIfAbsent(e.id(), 0L) == null && e.state() != State.ALREADY_EXISTS && isPull(e.state())) {
                    out.status(e.id(), "Pulling fs layer");
                }
                if (e.state().inProgress()) {
                    long now = System.nanoTime();
                    Long last = lastSent.get(e.id());
                    if (last != null && last != 0 && now - last < PROGRESS_INTERVAL_NANOS) {
                        return;
                    }
                    lastSent.put(e.id(), now);
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("status", e.state().text());
                    m.put("progressDetail", e.total() >= 0 ? Map.of("current", e.current(), "total", e.total())
                            : Map.of("current", e.current()));
                    m.put("id", e.id());
                    out.send(m);
                } else {
                    out.status(e.id(), e.detail().isEmpty() ? e.state().text() : e.state().text() + " " + e.detail());
                }
            } catch (IOException gone) {
                throw new java.io.UncheckedIOException("the client went away", gone);
            }
        }

        private static boolean isPull(State s) {
            return switch (s) {
                case WAITING, DOWNLOADING, VERIFYING, DOWNLOAD_COMPLETE, ALREADY_EXISTS, PULL_COMPLETE -> true;
                case PREPARING, PUSHING, PUSHED, LAYER_EXISTS, MOUNTED -> false;
            };
        }
    }

    private void importImage(HttpRequest req, HttpExchange ex, String fromSrc) throws Exception {
        if (!fromSrc.equals("-")) {
            throw ApiException.badRequest("importing from a URL (fromSrc=" + fromSrc
                    + ") is not supported; send the archive in the request body with fromSrc=-");
        }
        String repo = req.query("repo", "");
        String tag = req.query("tag", "");
        String name = repo.isEmpty() ? null : tag.isEmpty() ? repo : repo + ":" + tag;
        if (name != null) {
            Reference.parse(name);
        }
        Image image = engine.archives().importImage(null, req.body(), name, req.queryAll("changes"));
        publish("import", image.id().toString(), name == null ? image.id().toString() : Reference.parse(name).familiar());
        try (JsonStream out = new JsonStream(ex)) {
            out.status(image.id().toString());
        }
    }

    // ---- push ----

    private void push(HttpRequest req, HttpExchange ex) throws Exception {
        String tag = req.query("tag", "");
        String name = req.param("name");
        String what = tag.isEmpty() ? name : name + ":" + tag;
        Reference ref = Reference.parse(what);
        if (ref.tag() == null && ref.digest() == null) {
            throw ApiException.badRequest("pushing all tags of a repository is not supported: name a tag");
        }
        Credentials auth = registryAuth(req);
        try (JsonStream out = new JsonStream(ex)) {
            out.status("The push refers to repository [" + ref.name() + "]");
            Map<String, Long> last = new ConcurrentHashMap<>();
            try {
                Descriptor top = engine.images().push(what, e -> {
                    try {
                        if (e.state().inProgress()) {
                            long now = System.nanoTime();
                            Long prev = last.put(e.id(), now);
                            if (prev != null && now - prev < PROGRESS_INTERVAL_NANOS) {
                                return;
                            }
                            out.send(Map.of("status", e.state().text(), "id", e.id(),
                                    "progressDetail", Map.of("current", e.current(), "total", e.total())));
                        } else {
                            out.status(e.id(), e.detail().isEmpty() ? e.state().text() : e.state().text() + " " + e.detail());
                        }
                    } catch (IOException gone) {
                        throw new java.io.UncheckedIOException("the client went away", gone);
                    }
                }, auth);
                String shown = ref.tag() != null ? ref.tag() : ref.digest().toString();
                out.status(shown + ": digest: " + top.digest() + " size: " + top.size());
                out.aux(Map.of("Tag", shown, "Digest", top.digest().toString(), "Size", top.size()));
                publish("push", ref.familiar(), ref.familiar());
            } catch (Exception e) {
                out.fail(e);
            }
        }
    }

    /**
     * The X-Registry-Auth header: base64url of {@code {"username", "password", "serveraddress"}};
     * absent or empty means the credentials file. An identity token is used as the password.
     */
    static Credentials registryAuth(HttpRequest req) {
        String h = req.headers().first("X-Registry-Auth");
        if (h == null || h.isBlank()) {
            return null;
        }
        String json;
        try {
            json = new String(Base64.getUrlDecoder().decode(h.trim().replace('+', '-').replace('/', '_')), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("X-Registry-Auth is not base64: " + e.getMessage());
        }
        if (json.isBlank() || json.trim().equals("{}") || json.trim().equals("null")) {
            return null;
        }
        try {
            JsonNode n = JsonNode.root("X-Registry-Auth", Json.parse(json));
            String user = n.get("username").string("");
            String token = n.get("identitytoken").string("");
            String password = token.isEmpty() ? n.get("password").string("") : token;
            if (user.isEmpty() && token.isEmpty()) {
                return null;
            }
            return new Credentials(user.isEmpty() ? "<token>" : user, password);
        } catch (JsonException e) {
            throw ApiException.badRequest("X-Registry-Auth: " + e.getMessage());
        }
    }

    // ---- save and load ----

    private void saveOne(HttpRequest req, HttpExchange ex) throws IOException {
        save(List.of(req.param("name")), ex);
    }

    private void saveMany(HttpRequest req, HttpExchange ex) throws IOException {
        List<String> names = new ArrayList<>();
        for (String n : req.queryAll("names")) {
            if (!n.isBlank()) {
                names.add(n);
            }
        }
        if (names.isEmpty()) {
            throw ApiException.badRequest("the query parameter names is required: the images to save");
        }
        save(names, ex);
    }

    private void save(List<String> names, HttpExchange ex) throws IOException {
        for (String n : names) {
            engine.images().find(n, false, null); // a 404 before the archive begins
        }
        try (OutputStream out = ex.stream(Status.OK, "application/x-tar")) {
            engine.archives().save(names, out, io.vessel.engine.Archives.Format.DOCKER, null);
        }
        for (String n : names) {
            publish("save", n, n);
        }
    }

    private void load(HttpRequest req, HttpExchange ex) throws Exception {
        List<String> lines = engine.archives().load(req.body(), null);
        try (JsonStream out = new JsonStream(ex)) {
            for (String l : lines) {
                out.stream(l + "\n");
                String name = l.substring(l.indexOf(':') + 1).trim();
                publish("load", name, name);
            }
        }
    }

    private void publish(String action, String id, String name) {
        engine.events().publish(Event.now(Event.IMAGE, action, id, Map.of("name", name)));
    }
}
