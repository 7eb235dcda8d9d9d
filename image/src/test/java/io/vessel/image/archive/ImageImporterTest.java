package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.layer.LayerApplier;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageImporterTest {
    @TempDir
    Path tmp;

    private BlobStore store;

    @BeforeEach
    void setUp() throws IOException {
        store = BlobStore.open(tmp.resolve("store"));
    }

    static byte[] rootfsTar() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TarOutput t = new TarOutput(b);
        t.directory("bin", 0755, 1_600_000_000L);
        t.file("bin/hello", 0755, 1_600_000_000L, "#!/bin/sh\necho hello\n".getBytes(StandardCharsets.UTF_8));
        t.hardlink("bin/hello2", "bin/hello", 1_600_000_000L);
        t.symlink("bin/sh", "/bin/busybox", 1_600_000_000L); // absolute symlink targets are normal in a rootfs
        t.directory("etc", 0755, 1_600_000_000L);
        t.file("etc/motd", 0644, 1_600_000_000L, "hi\n".getBytes(StandardCharsets.UTF_8));
        t.finish();
        return b.toByteArray();
    }

    private Manifest manifest(Descriptor d) throws IOException {
        return Manifest.parse(store.read(d.digest()));
    }

    private ImageConfig config(Descriptor d) throws IOException {
        return ImageConfig.parse(store.read(manifest(d).config().digest()));
    }

    private void assertStoreClean() throws IOException {
        assertEquals(List.of(), store.list(), "nothing stored");
        try (Stream<Path> s = Files.list(store.root().resolve("tmp"))) {
            assertEquals(List.of(), s.toList(), "no temp file left");
        }
    }

    @Test
    void plainTarballBecomesOneUncompressedLayerWithItsOptions() throws IOException {
        byte[] tar = rootfsTar();
        ImportOptions opts = ImportOptions.parse(List.of("ENV A=1 B=2", "ENV A 3", "CMD [\"/bin/hello\"]",
                "ENTRYPOINT /bin/sh", "WORKDIR /etc", "USER nobody")).withCreated(Instant.parse("2020-02-02T00:00:00Z"));
        Descriptor d = ImageImporter.importTarball(new ByteArrayInputStream(tar), store, opts);

        Manifest m = manifest(d);
        assertEquals(MediaType.OCI_MANIFEST, d.mediaType());
        assertEquals(1, m.layers().size());
        Descriptor layer = m.layers().getFirst();
        assertEquals(MediaType.OCI_LAYER, layer.mediaType());
        assertEquals(Digest.of(tar), layer.digest());
        assertArrayEquals(tar, store.read(layer.digest()));

        ImageConfig c = config(d);
        assertEquals(List.of(Digest.of(tar)), c.rootfs().diffIds());
        assertEquals("linux", c.os());
        assertEquals("amd64", c.architecture());
        assertEquals("2020-02-02T00:00:00Z", c.created());
        assertEquals(ImageImporter.CREATED_BY, c.history().getFirst().createdBy());
        assertEquals(List.of("B=2", "A=3"), c.config().env());
        assertEquals(List.of("/bin/hello"), c.config().cmd());
        assertEquals(List.of("/bin/sh", "-c", "/bin/sh"), c.config().entrypoint());
        assertEquals("/etc", c.config().workingDir());
        assertEquals("nobody", c.config().user());
    }

    @Test
    void gzipTarballIsStoredCompressedWithTheUncompressedDiffId() throws IOException {
        byte[] tar = rootfsTar();
        byte[] gz = BaseImages.gzip(tar);
        Descriptor d = ImageImporter.importTarball(new ByteArrayInputStream(gz), store, ImportOptions.NONE);
        Descriptor layer = manifest(d).layers().getFirst();
        assertEquals(MediaType.OCI_LAYER_GZIP, layer.mediaType());
        assertEquals(Digest.of(gz), layer.digest());
        assertEquals(gz.length, layer.size());
        assertEquals(List.of(Digest.of(tar)), config(d).rootfs().diffIds());

        Path rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        try (InputStream in = store.open(layer.digest())) {
            assertEquals(Digest.of(tar), LayerApplier.apply(in, rootfs).diffId());
        }
        assertEquals("hi\n", Files.readString(rootfs.resolve("etc/motd")));
    }

    @Test
    void zstdTarballIsStoredWithTheZstdMediaType() throws IOException {
        Tools.require("zstd");
        byte[] tar = rootfsTar();
        Path plain = tmp.resolve("root.tar");
        Files.write(plain, tar);
        Tools.run(List.of("zstd", "-q", plain.toString(), "-o", tmp.resolve("root.tar.zst").toString()), null);
        byte[] zst = Files.readAllBytes(tmp.resolve("root.tar.zst"));
        Descriptor d = ImageImporter.importTarball(new ByteArrayInputStream(zst), store, ImportOptions.NONE);
        assertEquals(MediaType.OCI_LAYER_ZSTD, manifest(d).layers().getFirst().mediaType());
        assertEquals(List.of(Digest.of(tar)), config(d).rootfs().diffIds());
    }

    @Test
    void memberEscapingTheRootIsRefusedAndNothingIsStored() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TarOutput t = new TarOutput(b);
        t.file("etc/ok", 0644, 0, new byte[100_000]);
        t.file("etc/../../escape", 0644, 0, "x".getBytes(StandardCharsets.UTF_8));
        t.finish();
        ArchiveException e = assertThrows(ArchiveException.class,
                () -> ImageImporter.importTarball(new ByteArrayInputStream(b.toByteArray()), store, ImportOptions.NONE));
        assertTrue(e.getMessage().contains("etc/../../escape"), e.getMessage());
        assertTrue(e.getMessage().contains("\"..\""), e.getMessage());
        assertStoreClean();
    }

    @Test
    void absoluteNamesAndHardLinksOutAreRefused() throws IOException {
        for (int i = 0; i < 2; i++) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            TarOutput t = new TarOutput(b);
            if (i == 0) {
                t.file("/etc/passwd", 0644, 0, "x".getBytes(StandardCharsets.UTF_8));
            } else {
                t.hardlink("etc/shadow", "/etc/shadow", 0);
            }
            t.finish();
            ArchiveException e = assertThrows(ArchiveException.class,
                    () -> ImageImporter.importTarball(new ByteArrayInputStream(b.toByteArray()), store, ImportOptions.NONE));
            assertTrue(e.getMessage().contains("absolute"), e.getMessage());
            assertStoreClean();
        }
    }

    @Test
    void truncatedTarballIsAnErrorAndNothingIsStored() throws IOException {
        byte[] tar = rootfsTar();
        byte[] cut = Arrays.copyOf(tar, 700);
        IOException e = assertThrows(IOException.class,
                () -> ImageImporter.importTarball(new ByteArrayInputStream(cut), store, ImportOptions.NONE));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        byte[] gzCut = Arrays.copyOf(BaseImages.gzip(tar), 60);
        assertThrows(IOException.class,
                () -> ImageImporter.importTarball(new ByteArrayInputStream(gzCut), store, ImportOptions.NONE));
        assertStoreClean();
    }

    @Test
    void directoryImportKeepsTheTree() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("src/usr/bin"));
        Files.writeString(root.resolve("tool"), "tool\n");
        Files.createSymbolicLink(tmp.resolve("src/usr/link"), Path.of("bin/tool"));
        Descriptor d = ImageImporter.importDirectory(tmp.resolve("src"), store, ImportOptions.parse(List.of("CMD tool")));
        Descriptor layer = manifest(d).layers().getFirst();
        assertEquals(MediaType.OCI_LAYER_GZIP, layer.mediaType());
        assertEquals(List.of("/bin/sh", "-c", "tool"), config(d).config().cmd());
        Path out = Files.createDirectory(tmp.resolve("out"));
        try (InputStream in = store.open(layer.digest())) {
            assertEquals(config(d).rootfs().diffIds().getFirst(), LayerApplier.apply(in, out).diffId());
        }
        assertEquals("tool\n", Files.readString(out.resolve("usr/bin/tool")));
        assertEquals("bin/tool", Files.readSymbolicLink(out.resolve("usr/link")).toString());
    }

    @Test
    void badChangesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImportOptions.parse(List.of("EXPOSE 80")));
        assertTrue(e.getMessage().contains("EXPOSE"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImportOptions.parse(List.of("WORKDIR relative")));
        assertTrue(e.getMessage().contains("relative"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImportOptions.parse(List.of("CMD [\"a\", 1]")));
        assertTrue(e.getMessage().contains("strings"), e.getMessage());
    }
}
