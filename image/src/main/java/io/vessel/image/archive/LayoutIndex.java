package io.vessel.image.archive;

import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.Index;
import io.vessel.image.oci.MediaType;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The two files that make a directory an OCI image layout (image-layout.md): {@code oci-layout} and {@code index.json}. */
final class LayoutIndex {
    static final String OCI_LAYOUT = "oci-layout";
    static final String INDEX_JSON = "index.json";
    static final String VERSION = "1.0.0";

    private LayoutIndex() {
    }

    /** Checks {@code {"imageLayoutVersion": "1.0.0"}}; {@code where} names the file in errors. */
    static void checkLayout(byte[] content, String where) throws ArchiveException {
        try {
            JsonNode root = JsonNode.parse(where, new String(content, StandardCharsets.UTF_8));
            JsonNode v = root.get("imageLayoutVersion");
            String version = v.string();
            if (!VERSION.equals(version)) {
                throw v.fail("is \"" + version + "\"; only " + VERSION + " is supported");
            }
        } catch (JsonException e) {
            throw new ArchiveException(e.getMessage(), e);
        }
    }

    static byte[] layout() {
        return Json.write(Map.of("imageLayoutVersion", VERSION)).getBytes(StandardCharsets.UTF_8);
    }

    static Index parse(byte[] content, String where) throws ArchiveException {
        try {
            return Index.parse(content);
        } catch (IllegalArgumentException e) {
            throw new ArchiveException(where + ": " + e.getMessage(), e);
        }
    }

    /** The images an index.json names: each top descriptor (annotations dropped) and its name. */
    static List<ImageEntry> entries(Index index) {
        List<ImageEntry> out = new ArrayList<>();
        for (Descriptor d : index.manifests()) {
            out.add(new ImageEntry(ImageWalker.plain(d), Names.fromAnnotations(d.annotations())));
        }
        return out;
    }

    /** index.json naming {@code images}, after {@code kept} (entries of an existing index that stay). */
    static byte[] write(List<Descriptor> kept, List<ImageEntry> images) {
        List<Object> manifests = new ArrayList<>();
        for (Descriptor d : kept) {
            manifests.add(d.toJson());
        }
        for (ImageEntry e : images) {
            Descriptor d = e.descriptor();
            manifests.add(new Descriptor(d.mediaType(), d.digest(), d.size(), d.urls(), Names.annotations(e.name()),
                    d.platform()).toJson());
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("schemaVersion", 2);
        index.put("mediaType", MediaType.OCI_INDEX);
        index.put("manifests", manifests);
        return Json.write(index).getBytes(StandardCharsets.UTF_8);
    }
}
