package io.vessel.image.registry;

import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Registry credentials in Docker's client configuration file ({@code ~/.docker/config.json}), so
 * that a {@code docker login} done before works for Vessel and a {@code vessel login} for Docker.
 *
 * <p>Read: {@code {"auths": {"host:port": {"auth": "base64(user:password)"}}}} or the entry's
 * {@code username} and {@code password} fields. Keys may carry a scheme and a path
 * ({@code https://index.docker.io/v1/}, Docker Hub's key). Credential helpers ({@code credsStore},
 * {@code credHelpers}) are not run. Written: the file is rewritten atomically with mode 0600,
 * keeping every other field it had.
 */
public final class CredentialStore {
    /** The key Docker files Docker Hub's credentials under. */
    static final String DOCKER_HUB_KEY = "https://index.docker.io/v1/";

    private final Path file;

    public CredentialStore(Path file) {
        this.file = file;
    }

    /** {@code $DOCKER_CONFIG/config.json} if set, else {@code ~/.docker/config.json}. */
    public static CredentialStore defaultStore() {
        String dir = System.getenv("DOCKER_CONFIG");
        Path base = dir != null && !dir.isEmpty() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".docker");
        return new CredentialStore(base.resolve("config.json"));
    }

    public Path file() {
        return file;
    }

    /**
     * The credentials stored for {@code registry} (a host[:port] as in a {@code Reference}'s domain).
     *
     * @throws IOException naming the file and field if the file is not a valid configuration
     */
    public Optional<Credentials> lookup(String registry) throws IOException {
        JsonNode root = read();
        if (root == null) {
            return Optional.empty();
        }
        JsonNode auths = root.get("auths");
        String wanted = normalize(registry);
        for (String key : auths.keys()) {
            if (!normalize(key).equals(wanted)) {
                continue;
            }
            JsonNode entry = auths.get(key);
            try {
                String auth = entry.get("auth").string(null);
                if (auth != null && !auth.isEmpty()) {
                    String decoded;
                    try {
                        decoded = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
                    } catch (IllegalArgumentException e) {
                        throw entry.get("auth").fail("is not base64");
                    }
                    int colon = decoded.indexOf(':');
                    if (colon <= 0) {
                        throw entry.get("auth").fail("must be base64 of username:password");
                    }
                    return Optional.of(new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1)));
                }
                String user = entry.get("username").string(null);
                if (user != null && !user.isEmpty()) {
                    return Optional.of(new Credentials(user, entry.get("password").string()));
                }
            } catch (JsonException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        return Optional.empty();
    }

    /** Stores (replacing) the credentials for {@code registry}, keeping the rest of the file. */
    public void save(String registry, Credentials credentials) throws IOException {
        JsonNode root = read();
        Map<String, Object> top = new LinkedHashMap<>();
        if (root != null) {
            @SuppressWarnings("unchecked")
            Map<String, Object> old = (Map<String, Object>) root.value();
            top.putAll(old);
        }
        Map<String, Object> auths = new LinkedHashMap<>();
        if (top.get("auths") instanceof Map<?, ?> m) {
            m.forEach((k, v) -> auths.put((String) k, v));
        }
        String wanted = normalize(registry);
        auths.keySet().removeIf(k -> normalize(k).equals(wanted));
        String auth = Base64.getEncoder().encodeToString(
                (credentials.username() + ":" + credentials.password()).getBytes(StandardCharsets.UTF_8));
        auths.put(key(registry), Map.of("auth", auth));
        top.put("auths", auths);
        write(Json.writePretty(top));
    }

    /** Removes the credentials for {@code registry}; returns whether there were any. */
    public boolean remove(String registry) throws IOException {
        JsonNode root = read();
        if (root == null || !(root.value() instanceof Map<?, ?> m) || !(m.get("auths") instanceof Map<?, ?> a)) {
            return false;
        }
        Map<String, Object> top = new LinkedHashMap<>();
        m.forEach((k, v) -> top.put((String) k, v));
        Map<String, Object> auths = new LinkedHashMap<>();
        a.forEach((k, v) -> auths.put((String) k, v));
        String wanted = normalize(registry);
        boolean removed = auths.keySet().removeIf(k -> normalize(k).equals(wanted));
        top.put("auths", auths);
        if (removed) {
            write(Json.writePretty(top));
        }
        return removed;
    }

    private JsonNode read() throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            JsonNode root = JsonNode.parse(file.toString(), text);
            if (!root.isObject()) {
                throw root.fail("must be a JSON object");
            }
            JsonNode auths = root.get("auths");
            if (auths.present() && !auths.isObject()) {
                throw auths.fail("must be an object of registry to credentials");
            }
            return root;
        } catch (JsonException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private void write(String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, ".config.json", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(temp, text);
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** The key a registry's entry is written under: Docker Hub's legacy URL, else host[:port]. */
    static String key(String registry) {
        return normalize(registry).equals("docker.io") ? DOCKER_HUB_KEY : registry;
    }

    /** host[:port] of a key or registry name: no scheme, no path; Docker Hub's aliases are docker.io. */
    static String normalize(String key) {
        String k = key.trim();
        int scheme = k.indexOf("://");
        if (scheme >= 0) {
            k = k.substring(scheme + 3);
        }
        int slash = k.indexOf('/');
        if (slash >= 0) {
            k = k.substring(0, slash);
        }
        k = k.toLowerCase(java.util.Locale.ROOT);
        if (k.equals("index.docker.io") || k.equals("registry-1.docker.io") || k.equals("registry.hub.docker.com")) {
            return "docker.io";
        }
        return k;
    }
}
