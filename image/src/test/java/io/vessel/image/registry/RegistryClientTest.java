package io.vessel.image.registry;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Platform;
import io.vessel.image.oci.PlatformNotFoundException;
import io.vessel.image.registry.ProgressListener.ProgressEvent;
import io.vessel.image.registry.ProgressListener.State;
import io.vessel.image.registry.TestImages.TestImage;
import io.vessel.image.store.BlobStore;
import io.vessel.image.store.LayerStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Pull and push against the real distribution registry, anonymous. */
class RegistryClientTest {
    private static LocalRegistry registry;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startRegistry() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (scripts/install-deps.sh --test)");
        registry = LocalRegistry.start("");
    }

    @AfterAll
    static void stopRegistry() throws Exception {
        if (registry != null) {
            Path dir = registry.dir();
            registry.close();
            assertFalse(Files.exists(dir), "registry directory left behind");
        }
    }

    private RegistryClient client(long chunkSize) {
        return new RegistryClient(RegistryConfig.of(new CredentialStore(tmp.resolve("docker/config.json")))
                .withChunkSize(chunkSize));
    }

    private Reference ref(String pathAndTag) {
        return Reference.parse(registry.host() + "/" + pathAndTag);
    }

    private static final class Events implements ProgressListener {
        final List<ProgressEvent> events = new CopyOnWriteArrayList<>();

        @Override
        public void onEvent(ProgressEvent event) {
            events.add(event);
        }

        long count(State s) {
            return events.stream().filter(e -> e.state() == s).count();
        }

        Set<State> states(String id) {
            return Set.copyOf(events.stream().filter(e -> e.id().equals(id)).map(ProgressEvent::state).toList());
        }
    }

    private static void assertSameBlobs(BlobStore from, BlobStore to, List<Digest> digests) throws IOException {
        for (Digest d : digests) {
            assertTrue(to.exists(d), "missing " + d);
            assertArrayEquals(from.read(d), to.read(d), "blob " + d);
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void eachLayerReachesTheSinkOnceStoredWithTheVerifiedConfig() throws Exception {
        BlobStore src = BlobStore.open(tmp.resolve("src"));
        TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 7, 1000, 70_000, 5_000);
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            c.push(ref("sink/app:1"), img.manifest(), src, ProgressListener.NONE, Map.of());
            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            LayerStore layers = LayerStore.open(tmp.resolve("layers"));
            List<Integer> delivered = Collections.synchronizedList(new ArrayList<>());
            c.pull(ref("sink/app:1"), Platform.LINUX_AMD64, dst, ProgressListener.NONE, (manifest, config, index) -> {
                assertTrue(dst.exists(manifest.layers().get(index).digest()), "layer " + index + " is stored");
                assertEquals(img.config().digest(), manifest.config().digest());
                layers.unpackAhead(manifest.layers(), config.rootfs().diffIds(), index, dst);
                delivered.add(index);
            });
            assertEquals(List.of(0, 1, 2), delivered.stream().sorted().toList());
            ImageConfig config = ImageConfig.parse(dst.read(img.config().digest()));
            assertEquals(3, layers.lowerDirs(LayerStore.chainIds(config.rootfs().diffIds()).getLast()).size());

            // A sink that fails fails the pull, naming its error.
            BlobStore other = BlobStore.open(tmp.resolve("other"));
            IOException e = assertThrows(IOException.class, () -> c.pull(ref("sink/app:1"), Platform.LINUX_AMD64,
                    other, ProgressListener.NONE, (m, cfg, i) -> {
                        throw new IOException("no room for layer " + i);
                    }));
            assertTrue(e.getMessage().startsWith("no room for layer"), e.getMessage());
        }
    }

    @Test
    void pushThenPullRoundTrip() throws Exception {
        BlobStore src = BlobStore.open(tmp.resolve("src"));
        TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 1, 1000, 70_000, 300_000, 5_000);
        Events pushed = new Events();
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            c.push(ref("round/trip:v1"), img.manifest(), src, pushed, Map.of());
            assertEquals(5, pushed.count(State.PUSHED)); // config + 4 layers
            assertEquals(0, registry.requests("PATCH", "round/trip", 202));

            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            Events pulled = new Events();
            PullResult r = c.pull(ref("round/trip:v1"), Platform.LINUX_AMD64, dst, pulled);
            assertEquals(img.manifest().digest(), r.top().digest());
            assertEquals(r.top(), r.manifest());
            assertEquals(img.config(), r.config());
            assertEquals(img.layers(), r.layers());
            assertSameBlobs(src, dst, img.blobs());
            assertEquals(Set.copyOf(img.blobs()), Set.copyOf(dst.list()));
            String first = img.layers().get(0).digest().hex().substring(0, 12);
            assertTrue(pulled.states(first).containsAll(Set.of(State.WAITING, State.DOWNLOADING, State.VERIFYING,
                    State.DOWNLOAD_COMPLETE)), pulled.states(first).toString());
            assertEquals(List.of(), files(dst.root().resolve("downloads")));

            // By digest, and again: everything already exists.
            Events again = new Events();
            PullResult byDigest = c.pull(ref("round/trip@" + img.manifest().digest()), Platform.LINUX_AMD64, dst, again);
            assertEquals(img.manifest().digest(), byDigest.top().digest());
            assertEquals(4, again.count(State.ALREADY_EXISTS));
            assertEquals(0, again.count(State.DOWNLOADING));

            // A second push finds every blob there.
            Events second = new Events();
            c.push(ref("round/trip:v2"), img.manifest(), src, second, Map.of());
            assertEquals(5, second.count(State.LAYER_EXISTS));
            assertEquals(0, second.count(State.PUSHED));
        }
    }

    @Test
    void chunkedUploadSendsPatches() throws Exception {
        BlobStore src = BlobStore.open(tmp.resolve("src"));
        TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 2, 200_000, 3_000);
        long big = img.layers().get(0).size();
        try (RegistryClient c = client(64 * 1024)) {
            c.push(ref("chunked/app:1"), img.manifest(), src, ProgressListener.NONE, Map.of());
            long expected = (big + 65535) / 65536; // only the big layer is above the chunk size
            assertEquals(expected, registry.requests("PATCH", "chunked/app/blobs/uploads/", 202), registry.log());
            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            c.pull(ref("chunked/app:1"), Platform.LINUX_AMD64, dst, ProgressListener.NONE);
            assertSameBlobs(src, dst, img.blobs());
        }
    }

    @Test
    void multiPlatformIndex() throws Exception {
        BlobStore src = BlobStore.open(tmp.resolve("src"));
        TestImage amd = TestImages.image(src, Platform.LINUX_AMD64, 3, 2_000, 4_000);
        TestImage arm = TestImages.image(src, Platform.parse("linux/arm64/v8"), 4, 2_500);
        Descriptor index = TestImages.index(src, List.of(amd, arm));
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            c.push(ref("multi/app:latest"), index, src, ProgressListener.NONE, Map.of());
            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            PullResult r = c.pull(ref("multi/app"), Platform.LINUX_AMD64, dst, ProgressListener.NONE);
            assertEquals(index.digest(), r.top().digest());
            assertEquals(index.mediaType(), r.top().mediaType());
            assertEquals(amd.manifest().digest(), r.manifest().digest());
            assertEquals(Platform.LINUX_AMD64, r.manifest().platform());
            assertSameBlobs(src, dst, amd.blobs());
            assertTrue(dst.exists(index.digest()));
            for (Descriptor l : arm.layers()) {
                assertFalse(dst.exists(l.digest()), "arm64 layer pulled for amd64");
            }
            PullResult armPulled = c.pull(ref("multi/app"), Platform.parse("linux/arm64"), dst, ProgressListener.NONE);
            assertEquals(arm.manifest().digest(), armPulled.manifest().digest());

            PlatformNotFoundException e = assertThrows(PlatformNotFoundException.class,
                    () -> c.pull(ref("multi/app"), Platform.parse("linux/s390x"), dst, ProgressListener.NONE));
            assertTrue(e.getMessage().contains("linux/amd64") && e.getMessage().contains("linux/arm64/v8"), e.getMessage());
        }
    }

    @Test
    void crossRepositoryMount() throws Exception {
        BlobStore src = BlobStore.open(tmp.resolve("src"));
        TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 5, 40_000, 1_000);
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            c.push(ref("mount/source:1"), img.manifest(), src, ProgressListener.NONE, Map.of());
            Events events = new Events();
            Map<Digest, String> sources = Map.of(
                    img.layers().get(0).digest(), "mount/source",
                    img.layers().get(1).digest(), registry.host() + "/mount/source");
            c.push(ref("mount/target:1"), img.manifest(), src, events, sources);
            assertEquals(2, events.count(State.MOUNTED), events.events.toString());
            assertEquals(1, events.count(State.PUSHED)); // the config had no source
            assertEquals(2, registry.requests("POST", "mount/target/blobs/uploads/?mount=", 201), registry.log());
            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            c.pull(ref("mount/target:1"), Platform.LINUX_AMD64, dst, ProgressListener.NONE);
            assertSameBlobs(src, dst, img.blobs());
        }
    }

    @Test
    void notFoundAndUnreachable() throws Exception {
        BlobStore dst = BlobStore.open(tmp.resolve("dst"));
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            RegistryException e = assertThrows(RegistryException.class,
                    () -> c.pull(ref("no/such:tag"), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
            assertTrue(e.notFound());
            assertTrue(e.getMessage().startsWith("pull " + registry.host() + "/no/such: "), e.getMessage());
            assertTrue(e.getMessage().contains("not found"), e.getMessage());
            assertTrue(e.getMessage().contains("NAME_UNKNOWN") || e.getMessage().contains("MANIFEST_UNKNOWN"), e.getMessage());

            int closed;
            try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
                closed = s.getLocalPort();
            }
            RegistryException down = assertThrows(RegistryException.class, () -> c.pull(
                    Reference.parse("127.0.0.1:" + closed + "/x:1"), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
            assertEquals(0, down.status());
            assertTrue(down.getMessage().contains("cannot reach the registry at http://127.0.0.1:" + closed),
                    down.getMessage());
        }
        assertEquals(List.of(), dst.list());
    }

    @Test
    void tamperedBlobIsRefused() throws Exception {
        BlobStore src = BlobStore.open(tmp.resolve("src"));
        TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 6, 30_000, 50_000);
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            c.push(ref("tamper/app:1"), img.manifest(), src, ProgressListener.NONE, Map.of());
            Digest victim = img.layers().get(1).digest();
            Path data = registry.blobData(victim);
            byte[] bytes = Files.readAllBytes(data);
            bytes[bytes.length / 2] ^= 0x55; // same size, different content
            Files.write(data, bytes);

            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            RegistryException e = assertThrows(RegistryException.class,
                    () -> c.pull(ref("tamper/app:1"), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
            assertTrue(e.getMessage().contains(victim.toString()), e.getMessage());
            assertEquals("DIGEST_INVALID", e.code());
            assertFalse(dst.exists(victim));
            assertFalse(dst.exists(img.manifest().digest()), "manifest stored although a layer was refused");
            assertEquals(List.of(), files(dst.root().resolve("downloads")));
            assertEquals(List.of(), files(dst.root().resolve("tmp")));
        }
    }

    @Test
    void manifestThatIsNotJsonOrOfUnknownType() throws Exception {
        BlobStore src = BlobStore.open(tmp.resolve("src"));
        TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 7, 1_000);
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            // An artifact whose config type is not an image config: the registry takes it, a pull refuses it.
            byte[] artifact = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    + "\"config\":{\"mediaType\":\"application/vnd.example.thing.v1+json\",\"digest\":\""
                    + img.config().digest() + "\",\"size\":" + img.config().size() + "},\"layers\":[]}")
                    .getBytes(StandardCharsets.UTF_8);
            Descriptor odd = TestImages.put(src, io.vessel.image.oci.MediaType.OCI_MANIFEST, artifact);
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            c.push(ref("odd/app:img"), img.manifest(), src, ProgressListener.NONE, Map.of()); // the config blob
            var put = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + registry.host()
                            + "/v2/odd/app/manifests/artifact"))
                    .header("Content-Type", odd.mediaType())
                    .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(artifact)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(201, put.statusCode(), put.body());
            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            RegistryException e = assertThrows(RegistryException.class,
                    () -> c.pull(ref("odd/app:artifact"), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
            assertEquals("MANIFEST_INVALID", e.code());
            assertTrue(e.getMessage().contains("config.mediaType is not a known config type: "
                    + "\"application/vnd.example.thing.v1+json\""), e.getMessage());

            // A manifest changed in the registry's storage but still JSON: the registry serves it, its digest is wrong.
            Path data = registry.blobData(img.manifest().digest());
            Files.writeString(data, Files.readString(data) + "\n");
            for (String r : List.of("odd/app@" + img.manifest().digest(), "odd/app:img")) {
                RegistryException changed = assertThrows(RegistryException.class,
                        () -> c.pull(ref(r), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
                assertEquals("DIGEST_INVALID", changed.code(), changed.getMessage());
                assertTrue(changed.getMessage().contains(img.manifest().digest().toString()), changed.getMessage());
            }
            // Bytes that are not JSON: the distribution registry itself fails on them (500), named as such.
            Files.writeString(data, "this is not JSON at all");
            RegistryException broken = assertThrows(RegistryException.class,
                    () -> c.pull(ref("odd/app:img"), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
            assertEquals(500, broken.status(), broken.getMessage());
            assertTrue(broken.getMessage().startsWith("pull " + registry.host() + "/odd/app: UNKNOWN"), broken.getMessage());
            assertEquals(List.of(), dst.list());
        }
    }

    /**
     * A server that answers a manifest request with what no distribution registry would send (the
     * real one refuses to store or serve such content), to check the client's own checks.
     */
    @Test
    void manifestBodiesNoRegistryServes() throws Exception {
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        Map<String, String[]> answers = Map.of(
                "/v2/bad/html/manifests/1", new String[]{io.vessel.image.oci.MediaType.OCI_MANIFEST, "<html>Service Unavailable</html>"},
                "/v2/bad/unknown/manifests/1", new String[]{"application/vnd.example.unknown+json",
                        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example.unknown+json\"}"});
        server.createContext("/v2/", ex -> {
            try (ex) {
                String[] a = answers.get(ex.getRequestURI().getPath());
                byte[] body = (a == null ? "{}" : a[1]).getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", a == null ? "application/json" : a[0]);
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
        });
        server.start();
        try (RegistryClient c = client(RegistryConfig.DEFAULT_CHUNK_SIZE)) {
            String host = "127.0.0.1:" + server.getAddress().getPort();
            BlobStore dst = BlobStore.open(tmp.resolve("dst"));
            RegistryException html = assertThrows(RegistryException.class, () -> c.pull(
                    Reference.parse(host + "/bad/html:1"), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
            assertEquals("MANIFEST_INVALID", html.code());
            assertTrue(html.getMessage().startsWith("pull " + host + "/bad/html: manifest 1 (sha256:"), html.getMessage());
            assertTrue(html.getMessage().contains("is not an image manifest or index: document:"), html.getMessage());
            RegistryException unknown = assertThrows(RegistryException.class, () -> c.pull(
                    Reference.parse(host + "/bad/unknown:1"), Platform.LINUX_AMD64, dst, ProgressListener.NONE));
            assertTrue(unknown.getMessage().contains("mediaType is not a manifest or index type: "
                    + "\"application/vnd.example.unknown+json\""), unknown.getMessage());
            assertEquals(List.of(), dst.list());
        } finally {
            server.stop(0);
        }
    }

    @Test
    void progressBarsPlainAndAnsi() {
        java.io.ByteArrayOutputStream plain = new java.io.ByteArrayOutputStream();
        ProgressBars bars = new ProgressBars(new java.io.PrintStream(plain, true, StandardCharsets.UTF_8), false);
        bars.onEvent(new ProgressEvent("aaaaaaaaaaaa", State.WAITING, 0, 2_000_000, ""));
        bars.onEvent(new ProgressEvent("aaaaaaaaaaaa", State.DOWNLOADING, 500_000, 2_000_000, ""));
        bars.onEvent(new ProgressEvent("aaaaaaaaaaaa", State.DOWNLOADING, 1_000_000, 2_000_000, ""));
        bars.onEvent(new ProgressEvent("aaaaaaaaaaaa", State.DOWNLOAD_COMPLETE, 2_000_000, 2_000_000, ""));
        bars.onEvent(new ProgressEvent("bbbbbbbbbbbb", State.MOUNTED, 1, 1, "library/busybox"));
        assertEquals("aaaaaaaaaaaa: Waiting\naaaaaaaaaaaa: Downloading\naaaaaaaaaaaa: Download complete\n"
                + "bbbbbbbbbbbb: Mounted from library/busybox\n", plain.toString(StandardCharsets.UTF_8));

        java.io.ByteArrayOutputStream ansi = new java.io.ByteArrayOutputStream();
        ProgressBars tty = new ProgressBars(new java.io.PrintStream(ansi, true, StandardCharsets.UTF_8), true);
        tty.onEvent(new ProgressEvent("aaaaaaaaaaaa", State.WAITING, 0, 2_000_000, ""));
        tty.onEvent(new ProgressEvent("bbbbbbbbbbbb", State.WAITING, 0, 10, ""));
        tty.onEvent(new ProgressEvent("aaaaaaaaaaaa", State.DOWNLOADING, 1_000_000, 2_000_000, ""));
        String out = ansi.toString(StandardCharsets.UTF_8);
        assertTrue(out.endsWith("\033[2A\r\033[2Kaaaaaaaaaaaa: Downloading [===================>                    ] "
                + "1.00MB/2.00MB\r\033[2B"), out);
    }

    static String text(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
