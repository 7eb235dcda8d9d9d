package io.vessel.image.oci;

import io.vessel.image.Digest;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OciDocumentsTest {
    static final String AMD64 = d("amd64 manifest");
    static final String ARM64 = d("arm64 manifest");
    static final String ATTEST = d("attestation");
    static final String CONFIG = d("config");
    static final String LAYER0 = d("layer 0");
    static final String LAYER1 = d("layer 1");
    static final String DIFF0 = d("diff 0");

    static String d(String content) {
        return Digest.of(content.getBytes(StandardCharsets.UTF_8)).toString();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** As BuildKit pushes a multi-platform image with provenance: two images and one attestation. */
    static final String INDEX = """
            {
              "schemaVersion": 2,
              "mediaType": "application/vnd.oci.image.index.v1+json",
              "manifests": [
                {
                  "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "digest": "%s",
                  "size": 1234,
                  "platform": {"architecture": "amd64", "os": "linux"}
                },
                {
                  "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "digest": "%s",
                  "size": 1235,
                  "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}
                },
                {
                  "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "digest": "%s",
                  "size": 839,
                  "annotations": {
                    "vnd.docker.reference.digest": "%s",
                    "vnd.docker.reference.type": "attestation-manifest"
                  },
                  "platform": {"architecture": "unknown", "os": "unknown"}
                }
              ],
              "annotations": {"org.opencontainers.image.created": "2024-05-01T10:00:00Z"}
            }
            """.formatted(AMD64, ARM64, ATTEST, AMD64);

    static final String DOCKER_MANIFEST = """
            {
               "schemaVersion": 2,
               "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
               "config": {
                  "mediaType": "application/vnd.docker.container.image.v1+json",
                  "size": 1457,
                  "digest": "%s"
               },
               "layers": [
                  {
                     "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                     "size": 2592863,
                     "digest": "%s"
                  },
                  {
                     "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                     "size": 120,
                     "digest": "%s"
                  }
               ]
            }
            """.formatted(CONFIG, LAYER0, LAYER1);

    static final String OCI_MANIFEST = """
            {
              "schemaVersion": 2,
              "mediaType": "application/vnd.oci.image.manifest.v1+json",
              "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "%s", "size": 581},
              "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "%s", "size": 2152262}
              ],
              "annotations": {"org.opencontainers.image.base.name": "docker.io/library/busybox:1.36"}
            }
            """.formatted(CONFIG, LAYER0);

    /** busybox's config as Docker Hub serves it, with Docker's extra fields. */
    static final String BUSYBOX_CONFIG = """
            {
              "architecture": "amd64",
              "config": {
                "Hostname": "",
                "Domainname": "",
                "User": "",
                "AttachStdin": false,
                "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["sh"],
                "Image": "sha256:9ed4aefc74f6792b5a804d1d146fe4b4a2299147b0f50eaf2b08435d7b38c27e",
                "Volumes": {"/data": {}},
                "WorkingDir": "",
                "Entrypoint": null,
                "OnBuild": null,
                "Labels": {"maintainer": "someone"},
                "StopSignal": "SIGTERM"
              },
              "container": "a0007fd5a7a5b0ba8ee1bed7f0e4ff1c3a9a9f7c2b1f1d0e3f3c5b2a1a0f9e8d",
              "created": "2023-07-18T23:19:33.655005962Z",
              "docker_version": "20.10.23",
              "history": [
                {
                  "created": "2023-07-18T23:19:33.538571854Z",
                  "created_by": "/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in / "
                },
                {
                  "created": "2023-07-18T23:19:33.655005962Z",
                  "created_by": "/bin/sh -c #(nop)  CMD [\\"sh\\"]",
                  "empty_layer": true
                }
              ],
              "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": ["%s"]}
            }
            """.formatted(DIFF0);

    @Test
    void ociIndexWithAttestation() {
        Index index = Index.parse(utf8(INDEX));
        assertEquals(2, index.schemaVersion());
        assertEquals(MediaType.OCI_INDEX, index.mediaType());
        assertEquals(3, index.manifests().size());
        Descriptor arm = index.manifests().get(1);
        assertEquals(Digest.parse(ARM64), arm.digest());
        assertEquals(1235, arm.size());
        assertEquals(new Platform("arm64", "linux", "v8", null, List.of()), arm.platform());
        assertTrue(index.manifests().get(2).isAttestation());
        assertEquals("2024-05-01T10:00:00Z", index.annotations().get("org.opencontainers.image.created"));
        assertEquals(index, Index.parse(utf8(Json.write(index.toJson()))), "toJson round trip");
    }

    @Test
    void platformSelection() {
        Index index = Index.parse(utf8(INDEX));
        assertEquals(Digest.parse(AMD64), index.select().digest());
        assertEquals(Digest.parse(AMD64), index.select(Platform.parse("linux/amd64")).digest());
        assertEquals(Digest.parse(ARM64), index.select(Platform.parse("linux/arm64")).digest());
        assertEquals(Digest.parse(ARM64), index.select(Platform.parse("linux/arm64/v8")).digest());

        PlatformNotFoundException e = assertThrows(PlatformNotFoundException.class,
                () -> index.select(Platform.parse("linux/s390x")));
        assertEquals("no manifest for linux/s390x in the index; available: linux/amd64, linux/arm64/v8", e.getMessage());
        assertEquals(2, e.available().size());
        assertThrows(PlatformNotFoundException.class, () -> index.select(Platform.parse("linux/arm64/v9")));
        assertThrows(PlatformNotFoundException.class, () -> index.select(Platform.parse("unknown/unknown")),
                "attestations are never selected");
    }

    @Test
    void arm64WithoutVariantIsV8() {
        assertTrue(new Platform("arm64", "linux", null, null, List.of()).satisfies(Platform.parse("linux/arm64/v8")));
        assertFalse(new Platform("arm", "linux", "v6", null, List.of()).satisfies(Platform.parse("linux/arm/v7")));
        assertTrue(new Platform("arm", "linux", "v7", null, List.of()).satisfies(Platform.parse("linux/arm")));
        assertThrows(IllegalArgumentException.class, () -> Platform.parse("linux"));
        assertThrows(IllegalArgumentException.class, () -> Platform.parse("linux//v7"));
    }

    @Test
    void dockerSchema2Manifest() {
        Manifest m = Manifest.parse(utf8(DOCKER_MANIFEST));
        assertEquals(MediaType.DOCKER_MANIFEST, m.mediaType());
        assertEquals(MediaType.DOCKER_CONFIG, m.config().mediaType());
        assertEquals(Digest.parse(CONFIG), m.config().digest());
        assertEquals(2, m.layers().size());
        assertEquals(2592863, m.layers().get(0).size());
        assertTrue(MediaType.isLayer(m.layers().get(1).mediaType()));
        assertTrue(MediaType.isGzip(m.layers().get(1).mediaType()));
        assertTrue(m.isImage());
        assertEquals(m, Manifest.parse(utf8(Json.write(m.toJson()))));
    }

    @Test
    void ociManifest() {
        Manifest m = Manifest.parse(utf8(OCI_MANIFEST));
        assertEquals(MediaType.OCI_MANIFEST, m.mediaType());
        assertEquals(List.of(Digest.parse(LAYER0)), m.layers().stream().map(Descriptor::digest).toList());
        assertEquals("docker.io/library/busybox:1.36", m.annotations().get("org.opencontainers.image.base.name"));
        assertEquals(m, Manifest.parse(utf8(Json.writePretty(m.toJson()))));
    }

    @Test
    void busyboxConfig() {
        ImageConfig c = ImageConfig.parse(utf8(BUSYBOX_CONFIG));
        assertEquals("amd64", c.architecture());
        assertEquals("linux", c.os());
        assertNull(c.variant());
        assertEquals(Platform.LINUX_AMD64, c.platform());
        assertEquals("2023-07-18T23:19:33.655005962Z", c.created());
        ImageConfig.Config run = c.config();
        assertNull(run.user());
        assertEquals(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), run.env());
        assertEquals(List.of("sh"), run.cmd());
        assertEquals(List.of(), run.entrypoint());
        assertNull(run.workingDir());
        assertEquals(List.of("8080/tcp", "53/udp"), List.copyOf(run.exposedPorts()));
        assertEquals(List.of("/data"), List.copyOf(run.volumes()));
        assertEquals("someone", run.labels().get("maintainer"));
        assertEquals("SIGTERM", run.stopSignal());
        assertEquals("layers", c.rootfs().type());
        assertEquals(List.of(Digest.parse(DIFF0)), c.rootfs().diffIds());
        assertEquals(2, c.history().size());
        assertTrue(c.history().get(1).emptyLayer());
        assertFalse(c.history().get(0).emptyLayer());

        String written = Json.write(c.toJson());
        assertFalse(written.contains("docker_version"), "unknown fields are not kept: " + written);
        assertFalse(written.contains("Hostname"), written);
        assertEquals(c, ImageConfig.parse(utf8(written)));
    }

    @Test
    void buildFieldsShellHealthcheckOnBuildRoundTrip() {
        String json = """
                {"architecture": "amd64", "os": "linux",
                 "config": {"Shell": ["/bin/ash", "-eo", "pipefail", "-c"],
                            "Healthcheck": {"Test": ["CMD-SHELL", "wget -q localhost"], "Interval": 30000000000,
                                            "Timeout": 5000000000, "StartPeriod": 1000000000, "Retries": 3},
                            "OnBuild": ["RUN echo triggered"]},
                 "rootfs": {"type": "layers", "diff_ids": []}}
                """;
        ImageConfig c = ImageConfig.parse(utf8(json));
        ImageConfig.Config run = c.config();
        assertEquals(List.of("/bin/ash", "-eo", "pipefail", "-c"), run.shell());
        assertEquals(List.of("CMD-SHELL", "wget -q localhost"), run.healthcheck().test());
        assertEquals(30_000_000_000L, run.healthcheck().interval());
        assertEquals(5_000_000_000L, run.healthcheck().timeout());
        assertEquals(1_000_000_000L, run.healthcheck().startPeriod());
        assertNull(run.healthcheck().startInterval());
        assertEquals(3, run.healthcheck().retries());
        assertEquals(List.of("RUN echo triggered"), run.onBuild());
        String written = Json.write(c.toJson());
        assertTrue(written.contains("\"Healthcheck\":{\"Test\":[\"CMD-SHELL\""), written);
        assertFalse(written.contains("StartInterval"), "an absent duration stays absent: " + written);
        assertEquals(c, ImageConfig.parse(utf8(written)));
        ImageConfig none = ImageConfig.parse(utf8(json.replace("\"Healthcheck\": {\"Test\": [\"CMD-SHELL\", \"wget -q localhost\"]",
                "\"Healthcheck\": {\"Test\": [\"NONE\"]")));
        assertEquals(List.of("NONE"), none.config().healthcheck().test());
        fails("config: config.Healthcheck.Retries must not be negative",
                () -> ImageConfig.parse(utf8(json.replace("\"Retries\": 3", "\"Retries\": -1"))));
        ImageConfig plain = ImageConfig.parse(utf8(BUSYBOX_CONFIG));
        assertNull(plain.config().healthcheck());
        assertEquals(List.of(), plain.config().shell());
        assertEquals(List.of(), plain.config().onBuild());
    }

    @Test
    void configAndManifestLayerCounts() {
        ImageConfig c = ImageConfig.parse(utf8(BUSYBOX_CONFIG));
        c.checkLayers(Manifest.parse(utf8(OCI_MANIFEST)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.checkLayers(Manifest.parse(utf8(DOCKER_MANIFEST))));
        assertEquals("config " + CONFIG + ": rootfs.diff_ids has 1 entries but the manifest has 2 layers", e.getMessage());
    }

    @Test
    void documentKindFromMediaTypeOrShape() {
        assertInstanceOf(Index.class, Document.parse(utf8(INDEX), null));
        assertInstanceOf(Index.class, Document.parse(utf8(INDEX), MediaType.OCI_INDEX));
        assertInstanceOf(Manifest.class, Document.parse(utf8(DOCKER_MANIFEST), "application/json"));
        String bareIndex = INDEX.replace("\"mediaType\": \"application/vnd.oci.image.index.v1+json\",", "");
        Document d = Document.parse(utf8(bareIndex), null);
        assertEquals(MediaType.OCI_INDEX, assertInstanceOf(Index.class, d).mediaType());
        String bareManifest = OCI_MANIFEST.replace("\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",", "");
        Document m = Document.parse(utf8(bareManifest), MediaType.DOCKER_MANIFEST);
        assertEquals(MediaType.DOCKER_MANIFEST, assertInstanceOf(Manifest.class, m).mediaType());
        String kind = switch (m) {
            case Manifest x -> "manifest";
            case Index x -> "index";
        };
        assertEquals("manifest", kind);

        JsonException e = assertThrows(JsonException.class, () -> Document.parse(utf8(INDEX), MediaType.OCI_MANIFEST));
        assertEquals("document: mediaType is \"" + MediaType.OCI_INDEX + "\" but the document was served as \""
                + MediaType.OCI_MANIFEST + "\"", e.getMessage());
        IllegalArgumentException s1 = assertThrows(IllegalArgumentException.class,
                () -> Document.parse(utf8("{\"schemaVersion\": 1}"), MediaType.DOCKER_SCHEMA1_SIGNED));
        assertTrue(s1.getMessage().contains("schema 1"), s1.getMessage());
    }

    private static void fails(String expected, Runnable parse) {
        JsonException e = assertThrows(JsonException.class, parse::run);
        assertEquals(expected, e.getMessage());
    }

    @Test
    void malformedManifestsNameTheField() {
        fails("manifest.json: layers[1].digest not a digest: \"sha256:abc\" (sha256 needs 64 lowercase hex digits)",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace(LAYER1, "sha256:abc"))));
        fails("manifest.json: layers[0].digest not a digest: \"latest\" (expected algorithm:hex, e.g. sha256:<64 lowercase hex digits>)",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace(LAYER0, "latest"))));
        fails("manifest.json: config.digest unsupported algorithm \"md5\" in digest \"md5:d41d8cd98f00b204e9800998ecf8427e\" (supported: sha256, sha512)",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace(CONFIG, "md5:d41d8cd98f00b204e9800998ecf8427e"))));
        fails("manifest.json: schemaVersion must be 2, not 3",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace("\"schemaVersion\": 2", "\"schemaVersion\": 3"))));
        fails("manifest.json: schemaVersion is required",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace("\"schemaVersion\": 2,", ""))));
        fails("manifest.json: layers[1].size must be >= 0, not -1",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace("\"size\": 120", "\"size\": -1"))));
        fails("manifest.json: layers[1].size is required",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace("\"size\": 120,", ""))));
        fails("manifest.json: config.mediaType is not a known config type: \"application/vnd.example+json\" (expected "
                        + MediaType.OCI_CONFIG + " or " + MediaType.DOCKER_CONFIG + ")",
                () -> Manifest.parse(utf8(DOCKER_MANIFEST.replace(MediaType.DOCKER_CONFIG, "application/vnd.example+json"))));
        fails("manifest.json: layers must not be empty: an image needs at least one layer",
                () -> Manifest.parse(utf8(OCI_MANIFEST.replaceAll("(?s)\"layers\": \\[.*?\\]", "\"layers\": []"))));
        fails("manifest.json: layers is required",
                () -> Manifest.parse(utf8("{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"" + MediaType.OCI_CONFIG
                        + "\", \"digest\": \"" + CONFIG + "\", \"size\": 2}}")));
        fails("manifest.json: mediaType must be " + MediaType.OCI_MANIFEST + " or " + MediaType.DOCKER_MANIFEST
                        + ", not \"" + MediaType.OCI_INDEX + "\"",
                () -> Manifest.parse(utf8(OCI_MANIFEST.replace(MediaType.OCI_MANIFEST, MediaType.OCI_INDEX))));
        fails("manifest.json: (root) must be a JSON object", () -> Manifest.parse(utf8("[]")));
        assertThrows(JsonException.class, () -> Manifest.parse(utf8("{\"schemaVersion\": 2,")));
        assertThrows(JsonException.class, () -> Manifest.parse(new byte[] {'{', (byte) 0xC3, '}'}));
    }

    @Test
    void malformedIndexesAndConfigsNameTheField() {
        fails("index.json: manifests[1].platform.os is required",
                () -> Index.parse(utf8(INDEX.replace("\"arm64\", \"os\": \"linux\"", "\"arm64\""))));
        fails("index.json: manifests[0].mediaType is required",
                () -> Index.parse(utf8(INDEX.replaceFirst("\"mediaType\": \"application/vnd.oci.image.manifest.v1\\+json\",", ""))));
        fails("index.json: manifests is required", () -> Index.parse(utf8("{\"schemaVersion\": 2}")));
        fails("config: rootfs.type must be \"layers\", not \"tar\"",
                () -> ImageConfig.parse(utf8(BUSYBOX_CONFIG.replace("\"type\": \"layers\"", "\"type\": \"tar\""))));
        fails("config: rootfs.diff_ids[0] not a digest: \"nope\" (expected algorithm:hex, e.g. sha256:<64 lowercase hex digits>)",
                () -> ImageConfig.parse(utf8(BUSYBOX_CONFIG.replace(DIFF0, "nope"))));
        fails("config: rootfs is required",
                () -> ImageConfig.parse(utf8("{\"architecture\": \"amd64\", \"os\": \"linux\"}")));
        fails("config: config.Env[0] must have the form NAME=VALUE, not \"PATH\"",
                () -> ImageConfig.parse(utf8(BUSYBOX_CONFIG.replaceFirst("\"PATH=[^\"]*\"", "\"PATH\""))));
        fails("config: config.ExposedPorts.http is not a port: expected port[/tcp|udp|sctp] with port 1-65535",
                () -> ImageConfig.parse(utf8(BUSYBOX_CONFIG.replace("\"8080/tcp\"", "\"http\""))));
        fails("config: architecture is required",
                () -> ImageConfig.parse(utf8(BUSYBOX_CONFIG.replace("\"architecture\": \"amd64\",", ""))));
    }
}
