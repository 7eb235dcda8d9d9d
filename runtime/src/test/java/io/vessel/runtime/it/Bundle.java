package io.vessel.runtime.it;

import io.vessel.json.Json;
import io.vessel.runtime.cli.DefaultSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** An OCI bundle for tests: a busybox-static root file system and a config.json built from the default spec. */
public final class Bundle {
    private static Path template;

    public final Path dir;
    public final Map<String, Object> spec;

    private Bundle(Path dir, Map<String, Object> spec) {
        this.dir = dir;
        this.spec = spec;
    }

    /** The repository root (for scripts and build/). */
    public static Path repo() {
        String p = System.getProperty("vessel.root");
        Path dir = p != null ? Path.of(p) : Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("scripts/make-rootfs.sh"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("cannot find the repository root from " + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    /** A fresh bundle in {@code parent}: the rootfs is copied from a template made once per JVM. */
    public static Bundle create(Path parent) throws IOException, InterruptedException {
        synchronized (Bundle.class) {
            if (template == null) {
                Path t = Files.createTempDirectory("vessel-rootfs-template");
                // removed when the test JVM ends (one template per JVM, not one per run left in /tmp)
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        new ProcessBuilder("rm", "-rf", t.toString()).start().waitFor();
                    } catch (IOException | InterruptedException ignored) {
                        // left in /tmp
                    }
                }));
                sh(repo().resolve("scripts/make-rootfs.sh").toString(), t.resolve("rootfs").toString());
                template = t.resolve("rootfs");
            }
        }
        Path dir = Files.createDirectories(parent.resolve("bundle"));
        sh("cp", "-a", template.toString(), dir.resolve("rootfs").toString());
        Map<String, Object> spec = deepCopy(DefaultSpec.create(false));
        Map<String, Object> process = map(spec, "process");
        process.put("terminal", false);
        spec.put("root", new LinkedHashMap<>(Map.of("path", "rootfs", "readonly", false)));
        return new Bundle(dir, spec);
    }

    static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    public Bundle args(String... args) {
        map(spec, "process").put("args", List.of(args));
        return this;
    }

    public Bundle edit(Consumer<Map<String, Object>> f) {
        f.accept(spec);
        return this;
    }

    public Path write() throws IOException {
        Files.writeString(dir.resolve("config.json"), Json.writePretty(spec));
        return dir;
    }

    public Path rootfs() {
        return dir.resolve("rootfs");
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> map(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) {
            Map<String, Object> n = new LinkedHashMap<>();
            m.put(key, n);
            return n;
        }
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    public static List<Object> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) {
            List<Object> n = new ArrayList<>();
            m.put(key, n);
            return n;
        }
        return (List<Object>) v;
    }

    @SuppressWarnings("unchecked")
    static <T> T deepCopy(T v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put((String) k, deepCopy(x)));
            return (T) out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(x -> out.add(deepCopy(x)));
            return (T) out;
        }
        return v;
    }
}
