package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.store.BlobStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Archives and layouts that try to escape, lie about their content or are incomplete: each is refused
 * with an error that names the member and the problem, writes nothing outside the store and leaves no
 * temp file.
 */
class HostileArchiveTest {
    @TempDir
    Path tmp;

    private BlobStore store;
    private Path work;

    @BeforeEach
    void setUp() throws IOException {
        store = BlobStore.open(tmp.resolve("store"));
        work = Files.createDirectory(tmp.resolve("work"));
    }

    @AfterEach
    void nothingLeft() throws IOException {
        try (Stream<Path> s = Files.list(store.root().resolve("tmp"))) {
            assertEquals(List.of(), s.toList(), "no temp file left in the store");
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("store", "work"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "nothing written beside the store");
        }
        assertFalse(Files.exists(Path.of("/evil")));
    }

    private interface Body {
        void write(TarOutput t) throws IOException;
    }

    private static byte[] tar(Body body) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TarOutput t = new TarOutput(b);
        body.write(t);
        t.finish();
        return b.toByteArray();
    }

    private String refused(byte[] archive) {
        ArchiveException e = assertThrows(ArchiveException.class,
                () -> DockerArchive.read(new ByteArrayInputStream(archive), store));
        return e.getMessage();
    }

    private static void contains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "\"" + message + "\" should name " + p);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void dotDotMember() throws IOException {
        contains(refused(tar(t -> t.file("blobs/../../evil", 0644, 0, bytes("x")))), "blobs/../../evil", "\"..\"");
    }

    @Test
    void absoluteMember() throws IOException {
        contains(refused(tar(t -> t.file("/evil", 0644, 0, bytes("x")))), "/evil", "absolute");
    }

    @Test
    void symlinkOutOfTheArchive() throws IOException {
        contains(refused(tar(t -> t.symlink("manifest.json", "/etc/passwd", 0))), "manifest.json", "/etc/passwd");
        contains(refused(tar(t -> {
            t.directory("a", 0755, 0);
            t.symlink("a/layer.tar", "../../etc/shadow", 0);
        })), "a/layer.tar", "outside the archive");
    }

    @Test
    void hardLinkOutOfTheArchive() throws IOException {
        contains(refused(tar(t -> t.hardlink("manifest.json", "../etc/passwd", 0))), "manifest.json", "\"..\"");
    }

    @Test
    void duplicateMember() throws IOException {
        contains(refused(tar(t -> {
            t.file("manifest.json", 0644, 0, bytes("[]"));
            t.file("./manifest.json", 0644, 0, bytes("[]"));
        })), "./manifest.json", "twice");
    }

    @Test
    void manifestJsonNamingFilesOutsideTheArchive() throws IOException {
        contains(refused(tar(t -> t.file("manifest.json", 0644, 0,
                        bytes("[{\"Config\":\"../../etc/passwd\",\"RepoTags\":[\"x:1\"],\"Layers\":[]}]")))),
                "manifest.json[0].Config", "../../etc/passwd", "outside the archive");
        contains(refused(tar(t -> t.file("manifest.json", 0644, 0,
                        bytes("[{\"Config\":\"c.json\",\"Layers\":[\"/etc/shadow\"]}]")))),
                "Layers[0]", "/etc/shadow", "absolute");
    }

    @Test
    void manifestJsonNamingMissingFiles() throws IOException {
        byte[] layer = ArchiveRoundTripTest.smallTar("a", "a");
        byte[] config = ArchiveRoundTripTest.configJson(List.of(Digest.of(layer)));
        contains(refused(tar(t -> {
            t.file("c.json", 0644, 0, config);
            t.file("manifest.json", 0644, 0, bytes("[{\"Config\":\"c.json\",\"RepoTags\":[\"x:1\"],"
                    + "\"Layers\":[\"nope/layer.tar\"]}]"));
        })), "manifest.json[0].Layers[0]", "nope/layer.tar", "not in the archive");
        contains(refused(tar(t -> t.file("manifest.json", 0644, 0,
                bytes("[{\"Config\":\"missing.json\",\"Layers\":[]}]")))), "missing.json", "not in the archive");
    }

    @Test
    void legacyLayerWhoseContentIsNotTheDiffId() throws IOException {
        byte[] layer = ArchiveRoundTripTest.smallTar("a", "a");
        byte[] config = ArchiveRoundTripTest.configJson(List.of(Digest.of(ArchiveRoundTripTest.smallTar("b", "b"))));
        String m = refused(tar(t -> {
            t.file("l/layer.tar", 0644, 0, layer);
            t.file("c.json", 0644, 0, config);
            t.file("manifest.json", 0644, 0, bytes("[{\"Config\":\"c.json\",\"RepoTags\":[\"x:1\"],"
                    + "\"Layers\":[\"l/layer.tar\"]}]"));
        }));
        contains(m, "Layers[0]", Digest.of(layer).toString(), "diff_ids");
    }

    @Test
    void legacyConfigNamedForAnotherDigest() throws IOException {
        byte[] layer = ArchiveRoundTripTest.smallTar("a", "a");
        byte[] config = ArchiveRoundTripTest.configJson(List.of(Digest.of(layer)));
        String liar = "0".repeat(64);
        contains(refused(tar(t -> {
            t.file("l/layer.tar", 0644, 0, layer);
            t.file(liar + ".json", 0644, 0, config);
            t.file("manifest.json", 0644, 0, bytes("[{\"Config\":\"" + liar + ".json\",\"Layers\":[\"l/layer.tar\"]}]"));
        })), liar, Digest.of(config).toString());
    }

    @Test
    void blobWhoseContentDoesNotMatchItsName() throws IOException {
        byte[] content = bytes("not what the name says");
        String name = "blobs/sha256/" + Digest.of(bytes("something else")).hex();
        contains(refused(tar(t -> t.file(name, 0644, 0, content))), name, "does not match");
        assertFalse(store.exists(Digest.of(content)));
        assertEquals(List.of(), store.list());
    }

    @Test
    void indexNamingAMissingBlob() throws IOException {
        Digest absent = Digest.of(bytes("absent"));
        String index = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"digest\":\"" + absent + "\",\"size\":6}]}";
        contains(refused(tar(t -> t.file("index.json", 0644, 0, bytes(index)))), absent.toString(), "missing");
    }

    @Test
    void manifestWithAMissingLayerIsNotImported() throws IOException {
        Descriptor image = ImageImporter.importTarball(new ByteArrayInputStream(ImageImporterTest.rootfsTar()),
                BlobStore.open(work.resolve("source")), ImportOptions.NONE);
        BlobStore source = BlobStore.open(work.resolve("source"));
        ByteArrayOutputStream full = new ByteArrayOutputStream();
        DockerArchive.write(full, source, List.of(new ImageEntry(image, "x:1")));
        io.vessel.image.oci.Manifest m = io.vessel.image.oci.Manifest.parse(source.read(image.digest()));
        String layerPath = LayoutTar.blobPath(m.layers().getFirst());
        // the same archive without the layer's member
        byte[] cut = tar(t -> {
            io.vessel.image.layer.TarReader r = new io.vessel.image.layer.TarReader(new ByteArrayInputStream(full.toByteArray()));
            for (io.vessel.image.layer.TarEntry e; (e = r.next()) != null; ) {
                if (e.type() == io.vessel.image.layer.TarEntry.Type.REGULAR && !e.name().equals(layerPath)) {
                    t.file(e.name(), 0644, 0, r.content().readAllBytes());
                }
            }
        });
        contains(refused(cut), image.digest().toString(), m.layers().getFirst().digest().toString(), "missing");
    }

    @Test
    void truncatedArchive() throws IOException {
        byte[] whole = tar(t -> t.file("blobs/sha256/" + Digest.of(new byte[5000]).hex(), 0644, 0, new byte[5000]));
        contains(refused(Arrays.copyOf(whole, 3000)), "truncated");
    }

    @Test
    void notAnArchive() {
        contains(refused(bytes("{\"just\":\"json\"}" + " ".repeat(600))), "docker archive");
    }

    @Test
    void layoutWithASymlinkedBlob() throws IOException {
        Path secret = work.resolve("secret");
        Files.writeString(secret, "host secret");
        Digest d = Digest.of(bytes("host secret"));
        Path layout = Files.createDirectories(work.resolve("layout/blobs/sha256")).getParent().getParent();
        Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.writeString(layout.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + d + "\",\"size\":11}]}");
        Files.createSymbolicLink(layout.resolve("blobs/sha256/" + d.hex()), secret);
        ArchiveException e = assertThrows(ArchiveException.class, () -> OciLayout.read(layout, store));
        contains(e.getMessage(), "blobs/sha256/" + d.hex(), "symlink");
        assertFalse(store.exists(d));
    }

    @Test
    void layoutOfAnotherVersion() throws IOException {
        Path layout = work.resolve("layout2");
        Files.createDirectories(layout);
        Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"2.0.0\"}");
        Files.writeString(layout.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[]}");
        ArchiveException e = assertThrows(ArchiveException.class, () -> OciLayout.read(layout, store));
        contains(e.getMessage(), "imageLayoutVersion", "2.0.0");
    }
}
