package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Manifest;
import io.vessel.image.store.BlobStore;
import io.vessel.json.JsonNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Vessel's layouts and archives against the real skopeo and umoci, both ways. */
class ToolsInteropTest {
    @TempDir
    Path tmp;

    private BlobStore store;

    @BeforeEach
    void setUp() throws IOException {
        store = BlobStore.open(tmp.resolve("store"));
    }

    private Descriptor busybox() throws IOException {
        Path bb = BaseImages.BUSYBOX;
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(bb), bb + " missing (busybox-static)");
        return BaseImages.busybox(store);
    }

    private ImageConfig config(BlobStore s, Descriptor manifest) throws IOException {
        Manifest m = Manifest.parse(s.read(manifest.digest()));
        return ImageConfig.parse(s.read(m.config().digest()));
    }

    private Digest imageId(BlobStore s, Descriptor manifest) throws IOException {
        return Manifest.parse(s.read(manifest.digest())).config().digest();
    }

    @Test
    void busyboxLayoutIsUnpackedByUmociAndReadBySkopeo() throws IOException {
        Tools.require("umoci");
        Tools.require("skopeo");
        Descriptor bb = busybox();
        Path layout = tmp.resolve("layout");
        OciLayout.write(layout, store, List.of(new ImageEntry(bb, "busybox:1.35")));

        Path bundle = tmp.resolve("bundle");
        Tools.umoci(tmp, "unpack", "--image", layout + ":1.35", bundle.toString());
        Path rootfs = bundle.resolve("rootfs");
        assertTrue(Files.isRegularFile(rootfs.resolve("bin/busybox")));
        assertEquals("busybox", Files.readSymbolicLink(rootfs.resolve("bin/sh")).toString());
        assertTrue(Files.isSymbolicLink(rootfs.resolve("bin/ls")));
        assertTrue(Files.readString(rootfs.resolve("etc/passwd")).startsWith("root:x:0:0:"));
        assertEquals(01777, (int) Files.getAttribute(rootfs.resolve("tmp"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777);
        String runtimeConfig = Files.readString(bundle.resolve("config.json"));
        assertTrue(runtimeConfig.contains("\"sh\""), runtimeConfig);

        JsonNode inspect = JsonNode.parse("skopeo inspect", Tools.skopeo("inspect", "oci:" + layout + ":1.35"));
        assertEquals("linux", inspect.get("Os").string());
        assertEquals("amd64", inspect.get("Architecture").string());
        assertEquals(bb.digest().toString(), inspect.get("Digest").string());
        assertEquals(1, inspect.get("Layers").elements().size());
    }

    @Test
    void skopeoCopiesVesselLayoutToDockerArchiveThatVesselReads() throws IOException {
        Tools.require("skopeo");
        Descriptor bb = busybox();
        Path layout = tmp.resolve("layout");
        OciLayout.write(layout, store, List.of(new ImageEntry(bb, "busybox:latest")));
        Path archive = tmp.resolve("x.tar");
        Tools.skopeo("copy", "oci:" + layout + ":latest", "docker-archive:" + archive + ":example/bb:v1");

        BlobStore other = BlobStore.open(tmp.resolve("other"));
        List<ImageEntry> read;
        try (InputStream in = Files.newInputStream(archive)) {
            read = DockerArchive.read(in, other);
        }
        assertEquals(1, read.size());
        assertEquals("docker.io/example/bb:v1", read.getFirst().name());
        assertEquals(imageId(store, bb), imageId(other, read.getFirst().descriptor()));
        assertEquals(config(store, bb).rootfs().diffIds(), config(other, read.getFirst().descriptor()).rootfs().diffIds());
    }

    @Test
    void vesselReadsAnUmociMadeLayout() throws IOException {
        Tools.require("umoci");
        Path layout = tmp.resolve("umoci");
        Tools.umoci(tmp, "init", "--layout", layout.toString());
        Tools.umoci(tmp, "new", "--image", layout + ":t");
        Path bundle = tmp.resolve("bundle");
        Tools.umoci(tmp, "unpack", "--image", layout + ":t", bundle.toString());
        Files.writeString(bundle.resolve("rootfs/hello.txt"), "hello from umoci\n");
        Tools.umoci(tmp, "repack", "--image", layout + ":t", bundle.toString());

        List<ImageEntry> read = OciLayout.read(layout, store);
        assertEquals(1, read.size());
        assertEquals("t", read.getFirst().name());
        Manifest m = Manifest.parse(store.read(read.getFirst().descriptor().digest()));
        assertEquals(1, m.layers().size());
        assertEquals(1, config(store, read.getFirst().descriptor()).rootfs().diffIds().size());
        for (Descriptor l : m.layers()) {
            assertEquals(l.size(), store.size(l.digest()));
        }
    }

    @Test
    void vesselReadsASkopeoMadeDockerArchive() throws IOException {
        Tools.require("skopeo");
        Descriptor bb = busybox();
        Path layout = tmp.resolve("layout");
        OciLayout.write(layout, store, List.of(new ImageEntry(bb, "busybox:latest")));
        Path archive = tmp.resolve("skopeo.tar");
        Tools.skopeo("copy", "oci:" + layout + ":latest", "docker-archive:" + archive);

        BlobStore other = BlobStore.open(tmp.resolve("other"));
        try (InputStream in = Files.newInputStream(archive)) {
            List<ImageEntry> read = DockerArchive.read(in, other);
            assertEquals(1, read.size());
            assertEquals(null, read.getFirst().name());
            assertEquals(imageId(store, bb), imageId(other, read.getFirst().descriptor()));
        }
    }

    @Test
    void skopeoReadsVesselDockerArchive() throws IOException {
        Tools.require("skopeo");
        Descriptor bb = busybox();
        Path archive = tmp.resolve("vessel.tar");
        try (OutputStream out = Files.newOutputStream(archive)) {
            DockerArchive.write(out, store, List.of(new ImageEntry(bb, "busybox:latest")));
        }
        JsonNode inspect = JsonNode.parse("skopeo inspect", Tools.skopeo("inspect", "docker-archive:" + archive));
        assertEquals("linux", inspect.get("Os").string());
        assertEquals(List.of(BaseImages.PATH_ENV), inspect.get("Env").stringList());

        Path copied = tmp.resolve("copied");
        Tools.skopeo("copy", "docker-archive:" + archive, "oci:" + copied + ":t");
        BlobStore other = BlobStore.open(tmp.resolve("other"));
        List<ImageEntry> read = OciLayout.read(copied, other);
        assertEquals(imageId(store, bb), imageId(other, read.getFirst().descriptor()));

        Path fromOci = tmp.resolve("from-oci-archive");
        Path ociTar = tmp.resolve("vessel-oci.tar");
        try (OutputStream out = Files.newOutputStream(ociTar)) {
            OciArchive.write(out, store, List.of(new ImageEntry(bb, "busybox:latest")));
        }
        Tools.skopeo("copy", "oci-archive:" + ociTar + ":latest", "oci:" + fromOci + ":t");
        assertEquals(bb.digest(), OciLayout.read(fromOci, other).getFirst().descriptor().digest());
    }
}
