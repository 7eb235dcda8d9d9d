package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.Digester;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Index;
import io.vessel.image.oci.Manifest;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * {@code docker save} / {@code docker load} tarballs.
 *
 * <p>Reading takes both forms Docker has written: the legacy one ({@code manifest.json}, a list of
 * {@code {"Config", "RepoTags", "Layers"}} with paths into the archive, and {@code repositories}),
 * and Docker 25's, which adds an OCI layout ({@code oci-layout}, {@code index.json}, {@code blobs/})
 * to the same tar; index.json is preferred when present. A legacy image becomes an OCI manifest over
 * the config as it is (so its image ID, the config digest, is kept) and the layers as they are
 * (uncompressed ones keep digest == diff_id, and each diff_id is checked against the config): the
 * manifest a registry push of exactly these blobs carries. The archive may be gzip-compressed
 * ({@code docker save | gzip}); it is read in one pass (see {@link ArchiveContents}).
 *
 * <p>Writing gives Docker 25's form: the OCI layout and manifest.json/repositories side by side.
 */
public final class DockerArchive {
    private static final String WHAT = "docker archive";

    private DockerArchive() {
    }

    /**
     * Imports every image of the archive read from {@code in} (not closed) into {@code store}.
     *
     * @return one entry per image and name; names are full references ({@code docker.io/library/busybox:latest})
     * @throws ArchiveException naming the member and what is wrong; blobs stored before it stay
     */
    public static List<ImageEntry> read(InputStream in, BlobStore store) throws IOException {
        ArchiveContents contents = ArchiveContents.read(in, store, WHAT);
        if (contents.has(LayoutIndex.INDEX_JSON)) {
            return readLayout(contents, store, false);
        }
        if (contents.has(LayoutTar.MANIFEST_JSON)) {
            return readLegacy(contents, store);
        }
        throw new ArchiveException(WHAT + ": neither index.json nor manifest.json in the archive"
                + (contents.has(LayoutTar.REPOSITORIES) ? " (only repositories: archives of Docker before 1.10 are not"
                + " supported)" : " (not a docker save archive?)"));
    }

    /** Writes {@code images} as a docker archive (OCI layout plus manifest.json and repositories) to {@code out} (not closed). */
    public static void write(OutputStream out, BlobStore store, List<ImageEntry> images) throws IOException {
        LayoutTar.write(out, store, images, true);
    }

    /** The OCI layout in an archive: index.json's images, named by its annotations or else by manifest.json. */
    static List<ImageEntry> readLayout(ArchiveContents contents, BlobStore store, boolean requireLayout)
            throws IOException {
        byte[] layout = contents.bytes(LayoutIndex.OCI_LAYOUT, LayoutIndex.OCI_LAYOUT);
        if (layout == null && requireLayout) {
            throw new ArchiveException(contents.describe() + ": no oci-layout file: not an OCI image layout");
        }
        if (layout != null) {
            LayoutIndex.checkLayout(layout, contents.describe() + ": " + LayoutIndex.OCI_LAYOUT);
        }
        Index index = LayoutIndex.parse(contents.bytes(LayoutIndex.INDEX_JSON, LayoutIndex.INDEX_JSON),
                contents.describe() + ": " + LayoutIndex.INDEX_JSON);
        ImageWalker walker = new ImageWalker(store);
        BlobSource source = contents.blobs();
        List<ImageEntry> entries = LayoutIndex.entries(index);
        for (ImageEntry e : entries) {
            walker.importImage(e.descriptor(), source);
        }
        Map<Digest, List<String>> legacyNames = contents.has(LayoutTar.MANIFEST_JSON)
                ? legacyNamesByConfig(contents) : Map.of();
        List<ImageEntry> out = new ArrayList<>();
        for (ImageEntry e : entries) {
            if (e.name() != null || !MediaType.isManifest(e.descriptor().mediaType())) {
                out.add(e);
                continue;
            }
            Digest config = Manifest.parse(store.read(e.descriptor().digest())).config().digest();
            List<String> names = legacyNames.getOrDefault(config, List.of());
            if (names.isEmpty()) {
                out.add(e);
            }
            for (String n : names) {
                out.add(new ImageEntry(e.descriptor(), n));
            }
        }
        return out;
    }

    /** manifest.json's RepoTags by config digest, for index.json entries that carry no name. */
    private static Map<Digest, List<String>> legacyNamesByConfig(ArchiveContents contents) throws IOException {
        Map<Digest, List<String>> out = new HashMap<>();
        for (LegacyImage image : legacyImages(contents)) {
            byte[] config = contents.bytes(image.config(), image.where() + ".Config");
            if (config != null) {
                out.computeIfAbsent(Digest.of(config), k -> new ArrayList<>()).addAll(image.repoTags());
            }
        }
        return out;
    }

    /** One manifest.json entry, paths normalised and names as full references. */
    private record LegacyImage(String where, String config, List<String> repoTags, List<String> layers) {
    }

    private static List<LegacyImage> legacyImages(ArchiveContents contents) throws IOException {
        byte[] json = contents.bytes(LayoutTar.MANIFEST_JSON, LayoutTar.MANIFEST_JSON);
        List<LegacyImage> out = new ArrayList<>();
        try {
            JsonNode root = JsonNode.parse(LayoutTar.MANIFEST_JSON, new String(json, StandardCharsets.UTF_8));
            if (!root.isArray()) {
                throw root.fail("must be a JSON array of {Config, RepoTags, Layers}");
            }
            for (JsonNode item : root.elements()) {
                String where = LayoutTar.MANIFEST_JSON + item.path();
                JsonNode config = item.get("Config");
                if (!config.present()) {
                    throw config.fail("is required");
                }
                List<String> tags = new ArrayList<>();
                for (JsonNode t : item.get("RepoTags").elements()) {
                    try {
                        tags.add(Names.reference(t.string()).toString());
                    } catch (IllegalArgumentException e) {
                        throw t.fail(e.getMessage());
                    }
                }
                JsonNode layersNode = item.get("Layers");
                if (!layersNode.present()) {
                    throw layersNode.fail("is required");
                }
                List<String> layers = new ArrayList<>();
                for (JsonNode l : layersNode.elements()) {
                    layers.add(contents.normalize(l.string(), LayoutTar.MANIFEST_JSON + l.path() + " \"" + l.string() + "\""));
                }
                out.add(new LegacyImage(where, contents.normalize(config.string(), LayoutTar.MANIFEST_JSON + config.path() + " \""
                        + config.string() + "\""), tags, layers));
            }
        } catch (JsonException e) {
            throw new ArchiveException(contents.describe() + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** The legacy form: a manifest made per manifest.json entry from its config and layers. */
    private static List<ImageEntry> readLegacy(ArchiveContents contents, BlobStore store) throws IOException {
        List<LegacyImage> images = legacyImages(contents);
        List<ImageEntry> out = new ArrayList<>();
        for (LegacyImage image : images) {
            Descriptor manifest = legacyManifest(contents, store, image);
            if (image.repoTags().isEmpty()) {
                out.add(new ImageEntry(manifest, null));
            }
            for (String tag : image.repoTags()) {
                out.add(new ImageEntry(manifest, tag));
            }
        }
        return out;
    }

    private static Descriptor legacyManifest(ArchiveContents contents, BlobStore store, LegacyImage image)
            throws IOException {
        String what = contents.describe() + ": " + image.where();
        byte[] configBytes = contents.bytes(image.config(), image.where() + ".Config");
        if (configBytes == null) {
            throw new ArchiveException(what + ".Config names \"" + image.config() + "\", which is not in the archive");
        }
        Digest configDigest = Digest.of(configBytes);
        String file = image.config().substring(image.config().lastIndexOf('/') + 1);
        String named = file.endsWith(".json") ? file.substring(0, file.length() - ".json".length()) : file;
        if (named.length() == 64 && named.chars().allMatch(c -> Character.digit(c, 16) >= 0)
                && !named.equals(configDigest.hex())) {
            throw new ArchiveException(what + ".Config \"" + image.config() + "\" is named for sha256:" + named
                    + " but its content is " + configDigest);
        }
        ImageConfig config;
        try {
            config = ImageConfig.parse(configBytes);
        } catch (IllegalArgumentException e) {
            throw new ArchiveException(what + ".Config \"" + image.config() + "\": " + e.getMessage(), e);
        }
        List<Digest> diffIds = config.rootfs().diffIds();
        if (diffIds.size() != image.layers().size()) {
            throw new ArchiveException(what + ": " + image.layers().size() + " Layers but the config's rootfs.diff_ids has "
                    + diffIds.size());
        }
        List<Descriptor> layers = new ArrayList<>();
        for (int i = 0; i < image.layers().size(); i++) {
            String path = image.layers().get(i);
            String where = image.where() + ".Layers[" + i + "]";
            Descriptor blob = contents.stored(path, MediaType.OCI_LAYER, where);
            if (blob == null) {
                throw new ArchiveException(what + ".Layers[" + i + "] names \"" + path + "\", which is not in the archive");
            }
            Descriptor layer = typed(store, blob, diffIds.get(i), what + ".Layers[" + i + "] (" + path + ")");
            layers.add(layer);
        }
        Descriptor configDescriptor = Descriptor.of(MediaType.OCI_CONFIG,
                store.put(new ByteArrayInputStream(configBytes), configDigest, configBytes.length), configBytes.length);
        Manifest manifest = new Manifest(2, MediaType.OCI_MANIFEST, configDescriptor, layers, Map.of());
        byte[] manifestBytes = Json.write(manifest.toJson()).getBytes(StandardCharsets.UTF_8);
        Digest digest = store.put(new ByteArrayInputStream(manifestBytes), null, manifestBytes.length);
        return Descriptor.of(MediaType.OCI_MANIFEST, digest, manifestBytes.length);
    }

    /**
     * The layer's descriptor with the media type its content has (tar or tar+gzip), after checking that
     * its uncompressed digest is the config's diff_id.
     */
    private static Descriptor typed(BlobStore store, Descriptor blob, Digest diffId, String what) throws IOException {
        byte[] head;
        try (InputStream in = store.open(blob.digest())) {
            head = in.readNBytes(4);
        }
        boolean gzip = head.length >= 2 && head[0] == 0x1f && head[1] == (byte) 0x8b;
        if (head.length == 4 && head[0] == 0x28 && head[1] == (byte) 0xb5 && head[2] == 0x2f && head[3] == (byte) 0xfd) {
            throw new ArchiveException(what + ": zstd-compressed layers are not supported");
        }
        Digest actual;
        if (!gzip && blob.digest().algorithm().equals(diffId.algorithm())) {
            actual = blob.digest();
        } else {
            Digester digester = Digester.of(diffId.algorithm());
            try (InputStream raw = store.open(blob.digest());
                 InputStream in = gzip ? new GZIPInputStream(new BufferedInputStream(raw, 65536), 65536) : raw) {
                byte[] buffer = new byte[65536];
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    digester.update(buffer, 0, n);
                }
            } catch (java.util.zip.ZipException e) {
                throw new ArchiveException(what + ": not valid gzip: " + e.getMessage(), e);
            }
            actual = digester.digest();
        }
        if (!actual.equals(diffId)) {
            throw new ArchiveException(what + ": its uncompressed content is " + actual
                    + " but the config's rootfs.diff_ids says " + diffId);
        }
        return Descriptor.of(gzip ? MediaType.OCI_LAYER_GZIP : MediaType.OCI_LAYER, blob.digest(), blob.size());
    }
}
