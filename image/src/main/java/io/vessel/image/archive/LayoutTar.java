package io.vessel.image.archive;

import io.vessel.image.Reference;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.Manifest;
import io.vessel.image.store.BlobStore;
import io.vessel.json.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes images as a tar of an OCI image layout ({@code oci-archive}) and, for docker archives, with
 * Docker's {@code manifest.json} and {@code repositories} beside it, as Docker 25's {@code docker save}
 * does: new loaders read index.json, old ones (and skopeo's docker-archive) manifest.json, whose paths
 * point into the same {@code blobs/}. Every member has mtime 0 and owner root, so the same images
 * give the same archive. Blobs are verified as they are read from the store.
 */
final class LayoutTar {
    static final String MANIFEST_JSON = "manifest.json";
    static final String REPOSITORIES = "repositories";

    private LayoutTar() {
    }

    static void write(OutputStream out, BlobStore store, List<ImageEntry> images, boolean docker) throws IOException {
        ImageWalker walker = new ImageWalker(store);
        Map<String, Descriptor> blobs = new LinkedHashMap<>();
        for (ImageEntry e : images) {
            walker.collect(e.descriptor(), blobs);
        }
        byte[] index = LayoutIndex.write(List.of(), images);
        byte[] manifestJson = null;
        byte[] repositories = null;
        if (docker) {
            Legacy legacy = legacy(walker, store, images);
            manifestJson = legacy.manifestJson();
            repositories = legacy.repositories();
        }
        TarOutput tar = new TarOutput(out);
        tar.directory("blobs", 0755, 0);
        List<String> algorithms = new ArrayList<>();
        for (Descriptor d : blobs.values()) {
            if (!algorithms.contains(d.digest().algorithm())) {
                algorithms.add(d.digest().algorithm());
                tar.directory("blobs/" + d.digest().algorithm(), 0755, 0);
            }
        }
        for (Descriptor d : blobs.values()) {
            try (InputStream in = store.open(d.digest())) {
                tar.file("blobs/" + d.digest().algorithm() + "/" + d.digest().hex(), 0644, 0, store.size(d.digest()), in);
            }
        }
        tar.file(LayoutIndex.OCI_LAYOUT, 0644, 0, LayoutIndex.layout());
        tar.file(LayoutIndex.INDEX_JSON, 0644, 0, index);
        if (docker) {
            tar.file(MANIFEST_JSON, 0644, 0, manifestJson);
            tar.file(REPOSITORIES, 0644, 0, repositories);
        }
        tar.finish();
    }

    private record Legacy(byte[] manifestJson, byte[] repositories) {
    }

    /**
     * manifest.json: one entry per distinct image (its linux/amd64 manifest when the top is an index),
     * with its names as Docker prints them; repositories: name → tag → the top layer's hex.
     */
    private static Legacy legacy(ImageWalker walker, BlobStore store, List<ImageEntry> images) throws IOException {
        Map<String, List<String>> tagsByImage = new LinkedHashMap<>();
        Map<String, Descriptor> tops = new LinkedHashMap<>();
        for (ImageEntry e : images) {
            String key = e.descriptor().digest().toString();
            tops.putIfAbsent(key, e.descriptor());
            List<String> tags = tagsByImage.computeIfAbsent(key, k -> new ArrayList<>());
            if (e.name() != null) {
                Reference ref = Names.reference(e.name());
                if (ref.tag() != null && !tags.contains(ref.withTag(ref.tag()).familiar())) {
                    tags.add(ref.withTag(ref.tag()).familiar());
                }
            }
        }
        List<Object> entries = new ArrayList<>();
        Map<String, Map<String, String>> repositories = new LinkedHashMap<>();
        for (Map.Entry<String, Descriptor> top : tops.entrySet()) {
            Descriptor runnable = walker.runnable(top.getValue());
            if (runnable == null) {
                continue; // an index with no linux/amd64 image here: only index.json names it
            }
            Manifest m = Manifest.parse(store.read(runnable.digest()));
            List<String> layers = new ArrayList<>();
            for (Descriptor l : m.layers()) {
                layers.add(blobPath(l));
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("Config", blobPath(m.config()));
            entry.put("RepoTags", tagsByImage.get(top.getKey()));
            entry.put("Layers", layers);
            entries.add(entry);
            if (!m.layers().isEmpty()) {
                String topLayer = m.layers().getLast().digest().hex();
                for (String tag : tagsByImage.get(top.getKey())) {
                    Reference ref = Reference.parse(tag);
                    repositories.computeIfAbsent(ref.familiarName(), k -> new LinkedHashMap<>()).put(ref.tag(), topLayer);
                }
            }
        }
        return new Legacy(Json.write(entries).getBytes(StandardCharsets.UTF_8),
                Json.write(repositories).getBytes(StandardCharsets.UTF_8));
    }

    static String blobPath(Descriptor d) {
        return "blobs/" + d.digest().algorithm() + "/" + d.digest().hex();
    }
}
