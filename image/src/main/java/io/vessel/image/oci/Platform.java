package io.vessel.image.oci;

import io.vessel.json.JsonNode;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The platform an image runs on, as a descriptor in an index states it: {@code os}, {@code architecture}
 * (Go's GOOS and GOARCH values) and an optional CPU {@code variant} ({@code v8} for arm64).
 */
public record Platform(String architecture, String os, String variant, String osVersion, List<String> osFeatures) {
    /** The platform Vessel runs images for unless told otherwise. */
    public static final Platform LINUX_AMD64 = new Platform("amd64", "linux", null, null, List.of());

    public Platform {
        if (architecture == null || architecture.isEmpty() || os == null || os.isEmpty()) {
            throw new IllegalArgumentException("a platform needs an os and an architecture");
        }
        osFeatures = osFeatures == null ? List.of() : List.copyOf(osFeatures);
    }

    /** Parses {@code os/arch[/variant]}, e.g. {@code linux/arm64/v8}. */
    public static Platform parse(String text) {
        String[] parts = text.split("/", -1);
        if (parts.length < 2 || parts.length > 3 || parts[0].isEmpty() || parts[1].isEmpty()
                || (parts.length == 3 && parts[2].isEmpty())) {
            throw new IllegalArgumentException("not a platform: \"" + text + "\" (expected os/arch[/variant])");
        }
        return new Platform(parts[1], parts[0], parts.length == 3 ? parts[2] : null, null, List.of());
    }

    public static Platform from(JsonNode n) {
        return new Platform(
                nonEmpty(n.get("architecture")),
                nonEmpty(n.get("os")),
                n.get("variant").string(null),
                n.get("os.version").string(null),
                n.get("os.features").stringList());
    }

    private static String nonEmpty(JsonNode n) {
        String s = n.string();
        if (s.isEmpty()) {
            throw n.fail("must not be empty");
        }
        return s;
    }

    /**
     * Whether an image for {@code this} platform runs on {@code wanted}: same os and architecture,
     * and the same variant if {@code wanted} names one (arm64 without a variant is v8).
     */
    public boolean satisfies(Platform wanted) {
        if (!os.equals(wanted.os) || !architecture.equals(wanted.architecture)) {
            return false;
        }
        return wanted.variant == null || wanted.normalizedVariant().equals(normalizedVariant());
    }

    /** The variant, with arm64's implied default {@code v8} filled in; "" if none. */
    String normalizedVariant() {
        if (variant == null || variant.isEmpty()) {
            return "arm64".equals(architecture) ? "v8" : "";
        }
        return variant;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("architecture", architecture);
        out.put("os", os);
        Fields.putIf(out, "os.version", osVersion);
        Fields.putIf(out, "os.features", osFeatures);
        Fields.putIf(out, "variant", variant);
        return out;
    }

    /** {@code os/arch[/variant]}. */
    @Override
    public String toString() {
        return os + "/" + architecture + (variant == null || variant.isEmpty() ? "" : "/" + variant);
    }
}
