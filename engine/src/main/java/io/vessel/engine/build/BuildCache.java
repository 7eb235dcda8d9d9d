package io.vessel.engine.build;

import io.vessel.image.Digest;
import io.vessel.image.store.ImageStore;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The build cache's index: step cache key → the ID of the intermediate image holding that step's
 * result. The images themselves are the cache (their manifests carry the key in
 * {@code io.vessel.build.step}, so garbage collection keeps them and {@code images -a} lists them);
 * this file only makes the lookup one small read instead of a walk over every image. It lives in
 * {@code <root>/build-cache.json}, is rewritten atomically (temp file, rename) under
 * {@code build-cache.lock} so that concurrent builds merge their entries, and is rebuilt by a scan
 * of the store when missing or unreadable. An entry whose image has been removed is a miss.
 */
public final class BuildCache {
    private static final String FILE = "build-cache.json";
    private final Path file;
    private final Path lockFile;
    private final Map<Digest, Digest> entries = new LinkedHashMap<>();

    private BuildCache(Path root) {
        this.file = root.resolve(FILE);
        this.lockFile = root.resolve("build-cache.lock");
    }

    /**
     * Reads the index under {@code root}, scanning {@code store}'s images for their step annotation
     * when there is none (or it is damaged).
     */
    public static BuildCache open(Path root, ImageStore store, String annotation) throws IOException {
        BuildCache c = new BuildCache(root);
        if (!c.readFile()) {
            for (ImageStore.Image i : store.images()) {
                String key = i.manifest().annotations().get(annotation);
                if (key != null) {
                    c.entries.put(Digest.parse(key), i.id());
                }
            }
            c.write(Map.of());
        }
        return c;
    }

    private boolean readFile() throws IOException {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try {
            JsonNode n = JsonNode.parse(file.toString(), Files.readString(file));
            for (String k : n.keys()) {
                entries.put(Digest.parse(k), Digest.parse(n.get(k).string()));
            }
            return true;
        } catch (RuntimeException damaged) {
            entries.clear();
            return false; // rebuilt from the images, which are the truth
        }
    }

    /** The image recorded for {@code key}, or null; the caller checks the image still exists. */
    public Digest get(CacheKey key) {
        return entries.get(key.digest());
    }

    /** Records {@code key} → {@code image} and writes the index, merged with what others wrote meanwhile. */
    public void put(CacheKey key, Digest image) throws IOException {
        entries.put(key.digest(), image);
        write(Map.of(key.digest(), image));
    }

    /** Forgets {@code key} (its image is gone). */
    public void forget(CacheKey key) {
        entries.remove(key.digest());
    }

    private void write(Map<Digest, Digest> added) throws IOException {
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            Map<Digest, Digest> mine = new LinkedHashMap<>(entries);
            entries.clear();
            readFile();
            entries.putAll(mine);
            entries.putAll(added);
            Map<String, Object> out = new TreeMap<>();
            entries.forEach((k, v) -> out.put(k.toString(), v.toString()));
            Path tmp = file.resolveSibling("." + FILE + "." + ProcessHandle.current().pid() + ".tmp");
            Files.writeString(tmp, Json.write(out), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
