package io.vessel.image.archive;

import io.vessel.json.Json;
import io.vessel.json.JsonException;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code vessel import} sets in the image's config besides the layer, as Docker's
 * {@code import --change} instructions do: {@code ENV}, {@code CMD}, {@code ENTRYPOINT},
 * {@code WORKDIR}, {@code USER}. Empty lists and nulls leave the field unset.
 *
 * @param created the image's creation time; null means now
 */
public record ImportOptions(List<String> env, List<String> cmd, List<String> entrypoint, String workingDir,
                            String user, Instant created) {
    public static final ImportOptions NONE = new ImportOptions(List.of(), List.of(), List.of(), null, null, null);

    public ImportOptions {
        env = env == null ? List.of() : List.copyOf(env);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        for (String e : env) {
            if (e.indexOf('=') <= 0) {
                throw new IllegalArgumentException("import: env entry \"" + e + "\" must have the form NAME=VALUE");
            }
        }
        if (workingDir != null && !workingDir.startsWith("/")) {
            throw new IllegalArgumentException("import: working directory \"" + workingDir + "\" must be absolute");
        }
    }

    /**
     * Parses {@code --change} instructions in Dockerfile syntax: {@code ENV NAME=VALUE ...} or
     * {@code ENV NAME VALUE}, {@code CMD} and {@code ENTRYPOINT} as a JSON array or a shell command
     * (run with {@code /bin/sh -c}), {@code WORKDIR /dir}, {@code USER name[:group]}. Later ones
     * override earlier ones, as in a Dockerfile; an ENV of a name already set replaces it.
     *
     * @throws IllegalArgumentException naming the instruction that is not understood
     */
    public static ImportOptions parse(List<String> changes) {
        List<String> env = new ArrayList<>();
        List<String> cmd = List.of();
        List<String> entrypoint = List.of();
        String workingDir = null;
        String user = null;
        for (String change : changes) {
            String line = change.strip();
            int space = line.indexOf(' ');
            String keyword = (space < 0 ? line : line.substring(0, space)).toUpperCase(java.util.Locale.ROOT);
            String rest = space < 0 ? "" : line.substring(space + 1).strip();
            if (rest.isEmpty()) {
                throw new IllegalArgumentException("--change \"" + change + "\": " + keyword + " needs an argument");
            }
            switch (keyword) {
                case "ENV" -> env(env, rest, change);
                case "CMD" -> cmd = command(rest, change);
                case "ENTRYPOINT" -> entrypoint = command(rest, change);
                case "WORKDIR" -> workingDir = rest;
                case "USER" -> user = rest;
                default -> throw new IllegalArgumentException("--change \"" + change + "\": " + keyword
                        + " is not supported (ENV, CMD, ENTRYPOINT, WORKDIR, USER are)");
            }
        }
        return new ImportOptions(env, cmd, entrypoint, workingDir, user, null);
    }

    public ImportOptions withCreated(Instant time) {
        return new ImportOptions(env, cmd, entrypoint, workingDir, user, time);
    }

    private static void env(List<String> env, String rest, String change) {
        List<String> pairs = new ArrayList<>();
        int eq = rest.indexOf('=');
        int space = rest.indexOf(' ');
        if (eq < 0 || (space >= 0 && space < eq)) {
            if (space < 0) {
                throw new IllegalArgumentException("--change \"" + change + "\": ENV needs NAME=VALUE or NAME VALUE");
            }
            pairs.add(rest.substring(0, space) + "=" + rest.substring(space + 1).strip());
        } else {
            for (String p : rest.split("\\s+")) {
                if (p.indexOf('=') <= 0) {
                    throw new IllegalArgumentException("--change \"" + change + "\": \"" + p + "\" is not NAME=VALUE");
                }
                pairs.add(p);
            }
        }
        for (String p : pairs) {
            String name = p.substring(0, p.indexOf('=') + 1);
            env.removeIf(e -> e.startsWith(name));
            env.add(p);
        }
    }

    private static List<String> command(String rest, String change) {
        if (rest.startsWith("[")) {
            Object parsed;
            try {
                parsed = Json.parse(rest);
            } catch (JsonException e) {
                throw new IllegalArgumentException("--change \"" + change + "\": not a JSON array: " + e.getMessage(), e);
            }
            List<String> out = new ArrayList<>();
            for (Object o : (List<?>) parsed) {
                if (!(o instanceof String s)) {
                    throw new IllegalArgumentException("--change \"" + change + "\": the JSON array must hold strings");
                }
                out.add(s);
            }
            return out;
        }
        return List.of("/bin/sh", "-c", rest);
    }
}
