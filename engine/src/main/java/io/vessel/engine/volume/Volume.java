package io.vessel.engine.volume;

import io.vessel.json.JsonNode;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A volume as the store keeps it in {@code volume.json}: what {@code docker volume inspect} shows,
 * plus who uses it, because removal and pruning must not take data from under a container.
 *
 * @param mountpoint the volume's {@code _data} directory (not stored: it follows from the store)
 * @param options    the local driver's options ({@code type}, {@code device}, {@code o})
 * @param createdAt  ISO-8601 creation time
 * @param anonymous  made without a name (by {@code -v /path} or an image's VOLUME): pruned by default
 * @param users      ids of the containers that use it, in the order they acquired it
 */
public record Volume(String name, String driver, Map<String, String> labels, Map<String, String> options,
                     String createdAt, boolean anonymous, List<String> users, Path mountpoint) {
    /** The only driver: directories on the host, optionally a file system mounted there. */
    public static final String LOCAL = "local";

    public Volume {
        labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
        options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
        users = List.copyOf(users);
    }

    public boolean inUse() {
        return !users.isEmpty();
    }

    /** Whether the volume is a file system of its own, mounted on {@code _data} while in use. */
    public boolean mountsFileSystem() {
        return options.containsKey("type") || options.containsKey("device");
    }

    Volume withUsers(List<String> newUsers) {
        return new Volume(name, driver, labels, options, createdAt, anonymous, newUsers, mountpoint);
    }

    Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", name);
        out.put("driver", driver);
        out.put("labels", labels);
        out.put("options", options);
        out.put("createdAt", createdAt);
        out.put("anonymous", anonymous);
        out.put("users", users);
        return out;
    }

    static Volume fromJson(JsonNode n, Path mountpoint) {
        n.only("name", "driver", "labels", "options", "createdAt", "anonymous", "users");
        return new Volume(n.get("name").string(), n.get("driver").string(), n.get("labels").stringMap(),
                n.get("options").stringMap(), n.get("createdAt").string(), n.get("anonymous").bool(false),
                n.get("users").stringList(), mountpoint);
    }
}
