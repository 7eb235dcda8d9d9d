package io.vessel.image.oci;

import io.vessel.image.Digest;
import io.vessel.json.JsonNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An image configuration (OCI image spec config.md; Docker's is a superset): the platform, how to
 * run the image, the uncompressed layer digests ({@code rootfs.diff_ids}) and the build history.
 * Fields the records do not model (Docker's container_config, ...) are not kept.
 *
 * @param created ISO-8601 creation time as written, or null
 * @param author  or null
 * @param variant CPU variant, or null
 */
public record ImageConfig(String created, String author, String architecture, String os, String variant,
                          Config config, RootFs rootfs, List<History> history) {
    /** The only rootfs type the spec defines. */
    public static final String ROOTFS_LAYERS = "layers";
    /** Highest TCP/UDP port number. */
    private static final int MAX_PORT = 65535;

    public ImageConfig {
        history = List.copyOf(history);
    }

    /** Parses a config blob; errors name the field, e.g. {@code config: rootfs.diff_ids[0] not a digest: ...}. */
    public static ImageConfig parse(byte[] json) {
        return from(Fields.parse("config", json));
    }

    public static ImageConfig from(JsonNode n) {
        return new ImageConfig(
                n.get("created").string(null),
                n.get("author").string(null),
                required(n.get("architecture")),
                required(n.get("os")),
                n.get("variant").string(null),
                Config.from(n.get("config")),
                RootFs.from(n.get("rootfs")),
                n.get("history").list(History::from));
    }

    private static String required(JsonNode n) {
        String s = n.string();
        if (s.isEmpty()) {
            throw n.fail("must not be empty");
        }
        return s;
    }

    /** The platform this image is built for. */
    public Platform platform() {
        return new Platform(architecture, os, variant, null, List.of());
    }

    /**
     * Checks that this config describes {@code manifest}'s layers: one diff_id per layer.
     *
     * @throws IllegalArgumentException naming both counts
     */
    public void checkLayers(Manifest manifest) {
        int ids = rootfs.diffIds().size();
        int layers = manifest.layers().size();
        if (ids != layers) {
            throw new IllegalArgumentException("config " + manifest.config().digest() + ": rootfs.diff_ids has "
                    + ids + " entries but the manifest has " + layers + " layers");
        }
    }

    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        Fields.putIf(out, "created", created);
        Fields.putIf(out, "author", author);
        out.put("architecture", architecture);
        out.put("os", os);
        Fields.putIf(out, "variant", variant);
        out.put("config", config.toJson());
        out.put("rootfs", rootfs.toJson());
        List<Object> hs = new ArrayList<>(history.size());
        for (History h : history) {
            hs.add(h.toJson());
        }
        Fields.putIf(out, "history", hs);
        return out;
    }

    /**
     * How to run the image; the JSON names are Docker's capitalised ones. Absent or null lists,
     * maps and sets read as empty.
     *
     * @param exposedPorts {@code port/proto} entries, e.g. {@code 80/tcp}
     * @param volumes      absolute paths
     * @param shell        Docker's {@code Shell}: the SHELL a build set, for shell-form commands of later
     *                     builds (ONBUILD RUN, HEALTHCHECK CMD-SHELL); empty when never set
     * @param healthcheck  Docker's {@code Healthcheck}, or null
     * @param onBuild      Docker's {@code OnBuild}: instructions run by builds that start FROM this image
     */
    public record Config(String user, List<String> env, List<String> entrypoint, List<String> cmd,
                         String workingDir, Set<String> exposedPorts, Set<String> volumes,
                         Map<String, String> labels, String stopSignal, List<String> shell,
                         Healthcheck healthcheck, List<String> onBuild) {
        public static final Config EMPTY = new Config(null, List.of(), List.of(), List.of(), null, Set.of(), Set.of(),
                Map.of(), null, List.of(), null, List.of());

        public Config {
            env = List.copyOf(env);
            entrypoint = List.copyOf(entrypoint);
            cmd = List.copyOf(cmd);
            exposedPorts = Collections.unmodifiableSet(new LinkedHashSet<>(exposedPorts));
            volumes = Collections.unmodifiableSet(new LinkedHashSet<>(volumes));
            labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
            shell = shell == null ? List.of() : List.copyOf(shell);
            onBuild = onBuild == null ? List.of() : List.copyOf(onBuild);
        }

        public static Config from(JsonNode n) {
            if (!n.present()) {
                return EMPTY;
            }
            for (JsonNode e : n.get("Env").elements()) {
                if (e.string().indexOf('=') <= 0) {
                    throw e.fail("must have the form NAME=VALUE, not \"" + e.string() + "\"");
                }
            }
            Set<String> ports = new LinkedHashSet<>();
            for (String p : n.get("ExposedPorts").keys()) {
                checkPort(n.get("ExposedPorts").get(p), p);
                ports.add(p);
            }
            Set<String> volumes = new LinkedHashSet<>();
            for (String v : n.get("Volumes").keys()) {
                if (!v.startsWith("/")) {
                    throw n.get("Volumes").get(v).fail("must be an absolute path");
                }
                volumes.add(v);
            }
            String dir = n.get("WorkingDir").string(null);
            if (dir != null && !dir.isEmpty() && !dir.startsWith("/")) {
                throw n.get("WorkingDir").fail("must be an absolute path, not \"" + dir + "\"");
            }
            return new Config(
                    emptyToNull(n.get("User").string(null)),
                    n.get("Env").stringList(),
                    n.get("Entrypoint").stringList(),
                    n.get("Cmd").stringList(),
                    emptyToNull(dir),
                    ports,
                    volumes,
                    n.get("Labels").stringMap(),
                    emptyToNull(n.get("StopSignal").string(null)),
                    n.get("Shell").stringList(),
                    Healthcheck.from(n.get("Healthcheck")),
                    n.get("OnBuild").stringList());
        }

        /** {@code port}, {@code port/tcp}, {@code port/udp} or {@code port/sctp}, port 1-65535. */
        private static void checkPort(JsonNode where, String spec) {
            int slash = spec.indexOf('/');
            String port = slash < 0 ? spec : spec.substring(0, slash);
            String proto = slash < 0 ? "tcp" : spec.substring(slash + 1);
            boolean ok = !port.isEmpty() && port.length() <= 5 && port.chars().allMatch(Character::isDigit)
                    && Integer.parseInt(port) >= 1 && Integer.parseInt(port) <= MAX_PORT
                    && (proto.equals("tcp") || proto.equals("udp") || proto.equals("sctp"));
            if (!ok) {
                throw where.fail("is not a port: expected port[/tcp|udp|sctp] with port 1-" + MAX_PORT);
            }
        }

        private static String emptyToNull(String s) {
            return s == null || s.isEmpty() ? null : s;
        }

        public Map<String, Object> toJson() {
            Map<String, Object> out = new LinkedHashMap<>();
            Fields.putIf(out, "User", user);
            Fields.putIf(out, "ExposedPorts", emptyObjects(exposedPorts));
            Fields.putIf(out, "Env", env);
            Fields.putIf(out, "Entrypoint", entrypoint);
            Fields.putIf(out, "Cmd", cmd);
            Fields.putIf(out, "Volumes", emptyObjects(volumes));
            Fields.putIf(out, "WorkingDir", workingDir);
            Fields.putIf(out, "Labels", labels);
            Fields.putIf(out, "StopSignal", stopSignal);
            Fields.putIf(out, "Shell", shell);
            if (healthcheck != null) {
                out.put("Healthcheck", healthcheck.toJson());
            }
            Fields.putIf(out, "OnBuild", onBuild);
            return out;
        }

        /** The specs' set encoding: an object whose values are {@code {}}. */
        private static Map<String, Object> emptyObjects(Set<String> keys) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (String k : keys) {
                out.put(k, Map.of());
            }
            return out;
        }
    }

    /**
     * Docker's {@code Healthcheck}: how to probe a container of the image. {@code test} is
     * {@code ["NONE"]}, {@code ["CMD", args...]} or {@code ["CMD-SHELL", line]}; the durations are in
     * nanoseconds, null (absent) or 0 meaning the default; {@code retries} null means the default.
     */
    public record Healthcheck(List<String> test, Long interval, Long timeout, Long startPeriod, Long startInterval,
                              Integer retries) {
        public Healthcheck {
            test = List.copyOf(test);
        }

        /** A {@code Healthcheck} object as Docker writes it; null when absent; negative durations refused. */
        public static Healthcheck from(JsonNode n) {
            if (!n.present()) {
                return null;
            }
            for (String f : List.of("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")) {
                if (n.get(f).present() && n.get(f).longValue() < 0) {
                    throw n.get(f).fail("must not be negative");
                }
            }
            return new Healthcheck(n.get("Test").stringList(), nanos(n.get("Interval")), nanos(n.get("Timeout")),
                    nanos(n.get("StartPeriod")), nanos(n.get("StartInterval")),
                    n.get("Retries").present() ? n.get("Retries").intValue() : null);
        }

        private static Long nanos(JsonNode n) {
            return n.present() ? n.longValue() : null;
        }

        public Map<String, Object> toJson() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("Test", test);
            Fields.putIf(out, "Interval", interval);
            Fields.putIf(out, "Timeout", timeout);
            Fields.putIf(out, "StartPeriod", startPeriod);
            Fields.putIf(out, "StartInterval", startInterval);
            Fields.putIf(out, "Retries", retries);
            return out;
        }
    }

    /** The layers as the config knows them: their uncompressed digests, bottom first. */
    public record RootFs(String type, List<Digest> diffIds) {
        public RootFs {
            diffIds = List.copyOf(diffIds);
        }

        public static RootFs from(JsonNode n) {
            if (!n.present()) {
                throw n.fail("is required");
            }
            String type = n.get("type").string();
            if (!ROOTFS_LAYERS.equals(type)) {
                throw n.get("type").fail("must be \"" + ROOTFS_LAYERS + "\", not \"" + type + "\"");
            }
            JsonNode ids = n.get("diff_ids");
            if (!ids.present()) {
                throw ids.fail("is required");
            }
            return new RootFs(type, ids.list(Fields::digest));
        }

        public Map<String, Object> toJson() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("type", type);
            out.put("diff_ids", diffIds.stream().map(Digest::toString).toList());
            return out;
        }
    }

    /** One build step; {@code emptyLayer} steps (ENV, CMD, ...) made no layer. */
    public record History(String created, String createdBy, String author, String comment, boolean emptyLayer) {
        public static History from(JsonNode n) {
            return new History(
                    n.get("created").string(null),
                    n.get("created_by").string(null),
                    n.get("author").string(null),
                    n.get("comment").string(null),
                    n.get("empty_layer").bool(false));
        }

        public Map<String, Object> toJson() {
            Map<String, Object> out = new LinkedHashMap<>();
            Fields.putIf(out, "created", created);
            Fields.putIf(out, "created_by", createdBy);
            Fields.putIf(out, "author", author);
            Fields.putIf(out, "comment", comment);
            if (emptyLayer) {
                out.put("empty_layer", true);
            }
            return out;
        }
    }
}
