package io.vessel.image;

import java.util.regex.Pattern;

/**
 * An image reference as Docker users write it, normalized: {@code busybox} is
 * {@code docker.io/library/busybox:latest}, {@code localhost:5000/a/b@sha256:…} keeps its registry
 * and digest.
 *
 * <p>The grammar is the distribution project's: a name of slash-separated path components
 * ({@code [a-z0-9]+} joined by {@code .}, {@code _}, {@code __} or runs of {@code -}), optionally
 * preceded by a registry domain (the first component, when it contains a dot or a colon or is
 * {@code localhost}), then an optional {@code :tag} ({@code [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}})
 * and an optional {@code @digest}. A reference with neither gets the tag {@code latest}.
 *
 * @param domain the registry host (and port), e.g. {@code docker.io}, {@code 127.0.0.1:5000}
 * @param path   the repository inside the registry, e.g. {@code library/busybox}
 * @param tag    the tag, or null when the reference is by digest only
 * @param digest the manifest digest, or null
 */
public record Reference(String domain, String path, String tag, Digest digest) {
    public static final String DOCKER_HUB = "docker.io";
    public static final String DEFAULT_TAG = "latest";

    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                    + "|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final int MAX_NAME = 255;

    public Reference {
        if (domain == null || !DOMAIN.matcher(domain).matches()) {
            throw new IllegalArgumentException("invalid registry \"" + domain + "\"");
        }
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("image reference has no repository name");
        }
        for (String c : path.split("/", -1)) {
            if (!COMPONENT.matcher(c).matches()) {
                throw new IllegalArgumentException("invalid repository name \"" + path + "\": component \"" + c
                        + "\" must be lowercase letters and digits, joined by '.', '_', '__' or '-'");
            }
        }
        if (domain.length() + 1 + path.length() > MAX_NAME) {
            throw new IllegalArgumentException("repository name longer than " + MAX_NAME + " characters");
        }
        if (tag != null && !TAG.matcher(tag).matches()) {
            throw new IllegalArgumentException("invalid tag \"" + tag
                    + "\" (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')");
        }
        if (tag == null && digest == null) {
            tag = DEFAULT_TAG;
        }
    }

    /** Parses and normalizes what a user typed; the error names what is wrong. */
    public static Reference parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty image reference");
        }
        try {
            String rest = text;
            Digest digest = null;
            int at = rest.indexOf('@');
            if (at >= 0) {
                digest = Digest.parse(rest.substring(at + 1));
                rest = rest.substring(0, at);
            }
            String tag = null;
            int slash = rest.lastIndexOf('/');
            int colon = rest.lastIndexOf(':');
            if (colon > slash) {
                tag = rest.substring(colon + 1);
                rest = rest.substring(0, colon);
            }
            String domain = DOCKER_HUB;
            String path = rest;
            int first = rest.indexOf('/');
            if (first > 0) {
                String head = rest.substring(0, first);
                if (head.contains(".") || head.contains(":") || head.equals("localhost") || !head.equals(head.toLowerCase())) {
                    domain = head;
                    path = rest.substring(first + 1);
                }
            }
            if (domain.equals("index.docker.io")) {
                domain = DOCKER_HUB;
            }
            if (domain.equals(DOCKER_HUB) && !path.contains("/")) {
                path = "library/" + path;
            }
            return new Reference(domain, path, tag, digest);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid reference \"" + text + "\": " + e.getMessage(), e);
        }
    }

    /** Whether {@code text} looks like a bare image ID or its prefix (hex), which is not a name. */
    public static boolean looksLikeId(String text) {
        String hex = text.startsWith("sha256:") ? text.substring(7) : text;
        return hex.length() >= 12 && hex.length() <= 64 && hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }

    /** {@code domain/path}: the repository, without tag or digest. */
    public String name() {
        return domain + "/" + path;
    }

    /** The name as Docker prints it: {@code busybox}, {@code user/app}, {@code 127.0.0.1:5000/app}. */
    public String familiarName() {
        if (!domain.equals(DOCKER_HUB)) {
            return name();
        }
        return path.startsWith("library/") && path.indexOf('/', 8) < 0 ? path.substring(8) : path;
    }

    /** The familiar name with its tag and digest, as Docker prints it. */
    public String familiar() {
        return familiarName() + suffix();
    }

    public Reference withTag(String newTag) {
        return new Reference(domain, path, newTag, null);
    }

    public Reference withDigest(Digest newDigest) {
        return new Reference(domain, path, null, newDigest);
    }

    /** What to ask the registry for: the digest when there is one, else the tag. */
    public String manifestReference() {
        return digest != null ? digest.toString() : tag;
    }

    private String suffix() {
        return (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }

    @Override
    public String toString() {
        return name() + suffix();
    }
}
