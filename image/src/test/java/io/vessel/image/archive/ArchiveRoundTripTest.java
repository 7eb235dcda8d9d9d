package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Index;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;
import io.vessel.json.Json;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Vessel to Vessel in every format, the legacy docker save form, and the built-in busybox image. */
class ArchiveRoundTripTest {
    @TempDir
    Path tmp;

    private BlobStore store;
    private BlobStore other;

    @BeforeEach
    void setUp() throws IOException {
        store = BlobStore.open(tmp.resolve("store"));
        other = BlobStore.open(tmp.resolve("other"));
    }

    /** A small two-layer image (one plain, one gzip layer) made by the importer and a hand-built manifest. */
    private Descriptor image() throws IOException {
        return ImageImporter.importTarball(new ByteArrayInputStream(ImageImporterTest.rootfsTar()), store,
                ImportOptions.parse(List.of("CMD [\"sh\"]")).withCreated(java.time.Instant.EPOCH));
    }

    private static byte[] dockerArchive(BlobStore s, List<ImageEntry> images) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DockerArchive.write(out, s, images);
        return out.toByteArray();
    }

    @Test
    void dockerArchiveRoundTripKeepsDigestsAndNames() throws IOException {
        Descriptor d = image();
        byte[] tar = dockerArchive(store, List.of(new ImageEntry(d, "example.com/app:v1"), new ImageEntry(d, "app")));
        List<ImageEntry> read = DockerArchive.read(new ByteArrayInputStream(tar), other);
        assertEquals(List.of(new ImageEntry(d, "example.com/app:v1"), new ImageEntry(d, "docker.io/library/app:latest")),
                read);
        for (Digest blob : store.list()) {
            assertTrue(other.exists(blob), blob + " copied");
        }
        // written twice, the archive is the same bytes
        assertArrayEquals(tar, dockerArchive(store, List.of(new ImageEntry(d, "example.com/app:v1"),
                new ImageEntry(d, "app"))));
        // and its manifest.json half alone (what an old loader reads) gives the same image
        String manifestJson = new String(member(tar, "manifest.json"), StandardCharsets.UTF_8);
        assertTrue(manifestJson.contains("\"RepoTags\":[\"example.com/app:v1\",\"app:latest\"]"), manifestJson);
    }

    @Test
    void gzippedDockerArchiveIsRead() throws IOException {
        Descriptor d = image();
        byte[] gz = BaseImages.gzip(dockerArchive(store, List.of(new ImageEntry(d, "app:1"))));
        List<ImageEntry> read = DockerArchive.read(new ByteArrayInputStream(gz), other);
        assertEquals(List.of(new ImageEntry(d, "docker.io/library/app:1")), read);
    }

    @Test
    void ociArchiveAndLayoutRoundTrips() throws IOException {
        Descriptor d = image();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        OciArchive.write(out, store, List.of(new ImageEntry(d, "app:v2")));
        assertEquals(List.of(new ImageEntry(d, "docker.io/library/app:v2")),
                OciArchive.read(new ByteArrayInputStream(out.toByteArray()), other));

        Path layout = tmp.resolve("layout");
        OciLayout.write(layout, store, List.of(new ImageEntry(d, "app:v2")));
        BlobStore third = BlobStore.open(tmp.resolve("third"));
        assertEquals(List.of(new ImageEntry(d, "docker.io/library/app:v2")), OciLayout.read(layout, third));
        assertEquals(store.list(), third.list());
    }

    @Test
    void layoutWritesAddToAnExistingLayoutAndReplaceTheSameTag() throws IOException {
        Descriptor a = image();
        Descriptor bb = BaseImages.busybox(store);
        Path layout = tmp.resolve("layout");
        OciLayout.write(layout, store, List.of(new ImageEntry(a, "app:v1")));
        OciLayout.write(layout, store, List.of(new ImageEntry(bb, "busybox:v2")));
        OciLayout.write(layout, store, List.of(new ImageEntry(bb, "app:v1")));
        Index index = Index.parse(Files.readAllBytes(layout.resolve("index.json")));
        assertEquals(2, index.manifests().size());
        assertEquals(List.of("v2", "v1"), index.manifests().stream()
                .map(m -> m.annotations().get(Names.REF_NAME)).toList());
        assertEquals(List.of(bb.digest(), bb.digest()), index.manifests().stream().map(Descriptor::digest).toList());
        try (var tmpFiles = Files.walk(layout)) {
            assertTrue(tmpFiles.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp file left");
        }
    }

    @Test
    void busyboxImageIsReproducibleAndComplete() throws IOException {
        Descriptor first = BaseImages.busybox(store);
        Descriptor second = BaseImages.busybox(other);
        assertEquals(first, second);
        Manifest m = Manifest.parse(store.read(first.digest()));
        ImageConfig c = ImageConfig.parse(store.read(m.config().digest()));
        assertEquals(List.of("sh"), c.config().cmd());
        assertEquals(List.of(BaseImages.PATH_ENV), c.config().env());
        assertEquals(BaseImages.CREATED, c.created());
        assertEquals(MediaType.OCI_LAYER_GZIP, m.layers().getFirst().mediaType());
        byte[] gz = store.read(m.layers().getFirst().digest());
        assertArrayEquals(new byte[]{0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0}, java.util.Arrays.copyOf(gz, 8),
                "gzip header without a time or name");
        byte[] tar = new java.util.zip.GZIPInputStream(new ByteArrayInputStream(gz)).readAllBytes();
        assertEquals(c.rootfs().diffIds().getFirst(), Digest.of(tar));
        assertArrayEquals(Files.readAllBytes(BaseImages.BUSYBOX), member(tar, "bin/busybox"));
        assertTrue(new String(member(tar, "etc/group"), StandardCharsets.UTF_8).contains("nobody:x:65534:"));
    }

    /** A docker save archive of the legacy form, as Docker before 25 wrote it: no index.json. */
    @Test
    void legacyDockerSaveBecomesAnOciManifestWithDigestEqualToDiffId() throws IOException {
        byte[] layer1 = ImageImporterTest.rootfsTar();
        byte[] layer2tar = smallTar("etc/extra", "extra\n");
        byte[] layer2 = BaseImages.gzip(layer2tar); // compressed layers are found in some saves too
        byte[] config = configJson(List.of(Digest.of(layer1), Digest.of(layer2tar)));
        String id = Digest.of(config).hex();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TarOutput t = new TarOutput(b);
        t.directory("aaa", 0755, 0);
        t.file("aaa/layer.tar", 0644, 0, layer1);
        t.file("aaa/VERSION", 0644, 0, "1.0".getBytes(StandardCharsets.UTF_8));
        t.directory("bbb", 0755, 0);
        t.file("bbb/layer.tar", 0644, 0, layer2);
        t.directory("ccc", 0755, 0);
        t.symlink("ccc/layer.tar", "../aaa/layer.tar", 0); // docker save links a layer it already wrote
        t.file(id + ".json", 0644, 0, config);
        t.file("manifest.json", 0644, 0, ("[{\"Config\":\"" + id + ".json\",\"RepoTags\":[\"legacy:1\"],"
                + "\"Layers\":[\"ccc/layer.tar\",\"bbb/layer.tar\"]}]").getBytes(StandardCharsets.UTF_8));
        t.file("repositories", 0644, 0, "{\"legacy\":{\"1\":\"bbb\"}}".getBytes(StandardCharsets.UTF_8));
        t.finish();

        List<ImageEntry> read = DockerArchive.read(new ByteArrayInputStream(b.toByteArray()), store);
        assertEquals(1, read.size());
        assertEquals("docker.io/library/legacy:1", read.getFirst().name());
        Manifest m = Manifest.parse(store.read(read.getFirst().descriptor().digest()));
        assertEquals(MediaType.OCI_MANIFEST, m.mediaType());
        assertEquals(Descriptor.of(MediaType.OCI_CONFIG, Digest.of(config), config.length), m.config());
        assertEquals(Descriptor.of(MediaType.OCI_LAYER, Digest.of(layer1), layer1.length), m.layers().get(0));
        assertEquals(Descriptor.of(MediaType.OCI_LAYER_GZIP, Digest.of(layer2), layer2.length), m.layers().get(1));

        // exported again (Docker 25 form) and read through index.json: the same manifest
        byte[] again = dockerArchive(store, read);
        assertEquals(read, DockerArchive.read(new ByteArrayInputStream(again), other));
    }

    /** An index of which only the linux/amd64 manifest is stored, as Docker saves one platform of many. */
    @Test
    void indexWithSomePlatformsAbsentIsExportedAndImported() throws IOException {
        Descriptor amd64 = image();
        Digest absent = Digest.of("arm64 manifest not here".getBytes(StandardCharsets.UTF_8));
        io.vessel.image.oci.Platform arm = io.vessel.image.oci.Platform.parse("linux/arm64");
        Index index = new Index(2, MediaType.OCI_INDEX, List.of(
                new Descriptor(amd64.mediaType(), absent, 23, List.of(), Map.of(), arm),
                new Descriptor(amd64.mediaType(), amd64.digest(), amd64.size(), List.of(), Map.of(),
                        io.vessel.image.oci.Platform.LINUX_AMD64)), Map.of());
        byte[] indexBytes = Json.write(index.toJson()).getBytes(StandardCharsets.UTF_8);
        Descriptor top = Descriptor.of(MediaType.OCI_INDEX, store.put(new ByteArrayInputStream(indexBytes), null,
                indexBytes.length), indexBytes.length);

        byte[] tar = dockerArchive(store, List.of(new ImageEntry(top, "multi:1")));
        String manifestJson = new String(member(tar, "manifest.json"), StandardCharsets.UTF_8);
        Digest config = Manifest.parse(store.read(amd64.digest())).config().digest();
        assertTrue(manifestJson.contains("\"Config\":\"blobs/sha256/" + config.hex() + "\""), manifestJson);
        assertEquals(List.of(new ImageEntry(top, "docker.io/library/multi:1")),
                DockerArchive.read(new ByteArrayInputStream(tar), other));
        assertTrue(other.exists(amd64.digest()));
    }

    static byte[] smallTar(String name, String content) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TarOutput t = new TarOutput(b);
        t.file(name, 0644, 0, content.getBytes(StandardCharsets.UTF_8));
        t.finish();
        return b.toByteArray();
    }

    static byte[] configJson(List<Digest> diffIds) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("architecture", "amd64");
        c.put("os", "linux");
        c.put("config", Map.of("Cmd", List.of("sh")));
        c.put("rootfs", Map.of("type", "layers", "diff_ids", diffIds.stream().map(Digest::toString).toList()));
        return Json.write(c).getBytes(StandardCharsets.UTF_8);
    }

    /** The content of the regular member {@code name} of a tar. */
    static byte[] member(byte[] tar, String name) throws IOException {
        io.vessel.image.layer.TarReader r = new io.vessel.image.layer.TarReader(new ByteArrayInputStream(tar));
        for (io.vessel.image.layer.TarEntry e; (e = r.next()) != null; ) {
            if (e.name().equals(name)) {
                return r.content().readAllBytes();
            }
        }
        throw new AssertionError(name + " not in the archive");
    }
}
