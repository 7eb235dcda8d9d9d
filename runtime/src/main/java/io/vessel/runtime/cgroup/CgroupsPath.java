package io.vessel.runtime.cgroup;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * config.json's {@code linux.cgroupsPath} turned into the path of the container's cgroup below
 * each hierarchy's root, e.g. {@code /vessel/abc}.
 */
final class CgroupsPath {
    /** Parent of containers whose config.json names no cgroupsPath. */
    static final String DEFAULT_PARENT = "vessel";
    /** The slice systemd puts a scope in when the systemd form leaves the slice empty. */
    static final String DEFAULT_SLICE = "system.slice";
    /** systemd form "slice:prefix:name", as podman and docker write it for --cgroup-manager=systemd. */
    private static final Pattern SYSTEMD_FORM = Pattern.compile("([^:/]*):([^:/]*):([^:/]+)");

    private CgroupsPath() {
    }

    /**
     * Resolves {@code cgroupsPath} for container {@code id}: absolute and relative paths both below
     * the hierarchy root, none at all {@code /vessel/<id>}, the systemd form
     * {@code /<slice>/<prefix>-<name>.scope}. Throws IllegalArgumentException for ".." or the root.
     */
    static String resolve(String cgroupsPath, String id) {
        if (cgroupsPath == null || cgroupsPath.isBlank()) {
            return normalize("/" + DEFAULT_PARENT + "/" + component(id, "container id"));
        }
        Matcher m = SYSTEMD_FORM.matcher(cgroupsPath);
        if (m.matches()) {
            String slice = m.group(1).isEmpty() ? DEFAULT_SLICE : m.group(1);
            String scope = (m.group(2).isEmpty() ? "" : m.group(2) + "-") + m.group(3) + ".scope";
            return "/" + component(slice, "systemd slice") + "/" + component(scope, "systemd scope");
        }
        return normalize(cgroupsPath);
    }

    private static String normalize(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            if (p.equals("..")) {
                throw new IllegalArgumentException("cgroup: cgroupsPath \"" + path + "\" must not contain \"..\"");
            }
            if (!p.isEmpty() && !p.equals(".")) {
                parts.add(p);
            }
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("cgroup: cgroupsPath \"" + path + "\" names the root cgroup");
        }
        return "/" + String.join("/", parts);
    }

    private static String component(String s, String what) {
        if (s.isEmpty() || s.equals(".") || s.equals("..") || s.contains("/")) {
            throw new IllegalArgumentException("cgroup: " + what + " \"" + s + "\" cannot name a cgroup");
        }
        return s;
    }
}
