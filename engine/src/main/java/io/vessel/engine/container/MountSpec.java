package io.vessel.engine.container;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A mount a user asks for on Docker's command line: {@code -v}/{@code --volume},
 * {@code --mount} or {@code --tmpfs}, parsed into one of three kinds. Parsing checks the syntax
 * only; whether a bind source exists is checked (or, for {@code -v}, the directory made) when the
 * bundle is made, since that is about the host at that moment.
 */
public sealed interface MountSpec {
    /** Where the mount appears in the container: absolute and clean. */
    String target();

    boolean readOnly();

    /**
     * A host path bind-mounted into the container.
     *
     * @param propagation one of {@code rprivate} (the default), {@code private}, {@code rshared}, ...
     * @param recursive   rbind (the default) rather than bind ({@code bind-nonrecursive})
     * @param createSource make the source directory if missing ({@code -v} does, {@code --mount} refuses)
     */
    record Bind(Path source, String target, boolean readOnly, String propagation, boolean recursive,
                boolean createSource) implements MountSpec {
    }

    /**
     * A named volume, or an anonymous one when {@code name} is null.
     *
     * @param noCopy       do not seed an empty volume with the image's content at the target
     * @param labels       labels for a volume this mount creates ({@code volume-label})
     * @param driverOpts   driver options for a volume this mount creates ({@code volume-opt})
     */
    record Volume(String name, String target, boolean readOnly, boolean noCopy, String propagation,
                  Map<String, String> labels, Map<String, String> driverOpts) implements MountSpec {
        public Volume {
            labels = Map.copyOf(labels);
            driverOpts = Map.copyOf(driverOpts);
        }
    }

    /** A tmpfs; {@code options} are mount options ({@code size=65536k}, {@code mode=1777}, {@code noexec}, ...). */
    record Tmpfs(String target, boolean readOnly, List<String> options) implements MountSpec {
        public Tmpfs {
            options = List.copyOf(options);
        }
    }

    Set<String> PROPAGATIONS = Set.of("shared", "slave", "private", "rshared", "rslave", "rprivate");
    String DEFAULT_PROPAGATION = "rprivate";

    /**
     * Parses {@code -v SPEC}: {@code /ctr} (anonymous volume), {@code name:/ctr[:opts]} (named
     * volume), {@code /host:/ctr[:opts]} (bind). Options, comma-separated: {@code ro}, {@code rw},
     * {@code z}, {@code Z}, {@code nocopy}, a propagation mode, {@code consistent|cached|delegated}.
     */
    static MountSpec parseVolumeFlag(String spec) {
        String[] parts = spec.split(":", -1);
        if (parts[0].isEmpty() || parts.length > 3) {
            throw invalid(spec, parts.length > 3 ? "too many colon-separated parts" : "empty source");
        }
        String source = null;
        String target;
        String mode = "";
        if (parts.length == 1) {
            target = parts[0];
        } else if (parts.length == 2) {
            if (VolumeMode.isMode(parts[1])) {
                throw invalid(spec, "a mode needs a source and a destination (SOURCE:DEST:MODE)");
            }
            source = parts[0];
            target = parts[1];
        } else {
            source = parts[0];
            target = parts[1];
            mode = parts[2];
        }
        target = checkTarget(spec, target);
        VolumeMode m = VolumeMode.parse(spec, mode);
        if (source != null && source.startsWith("/")) {
            if (m.noCopy()) {
                throw invalid(spec, "nocopy applies to volumes, not to bind mounts");
            }
            return new Bind(Path.of(source).normalize(), target, m.readOnly(), m.propagation(), true, true);
        }
        if (source != null) {
            checkVolumeName(spec, source);
        }
        return new Volume(source, target, m.readOnly(), m.noCopy(), m.propagation(), Map.of(), Map.of());
    }

    /**
     * Parses {@code --mount KEY=VALUE,...}: {@code type=bind|volume|tmpfs} (default volume),
     * {@code source|src}, {@code target|dst|destination}, {@code readonly|ro[=true|false]},
     * {@code bind-propagation}, {@code bind-nonrecursive}, {@code volume-nocopy}, {@code volume-label},
     * {@code volume-opt}, {@code volume-driver=local}, {@code tmpfs-size}, {@code tmpfs-mode}.
     */
    static MountSpec parseMountFlag(String spec) {
        String type = "volume";
        String source = null;
        String target = null;
        boolean readOnly = false;
        String propagation = null;
        Boolean nonRecursive = null;
        Boolean noCopy = null;
        Map<String, String> labels = new LinkedHashMap<>();
        Map<String, String> opts = new LinkedHashMap<>();
        Long tmpfsSize = null;
        Integer tmpfsMode = null;
        List<String> typed = new ArrayList<>(); // keys that belong to one type, to check against it
        for (String field : Csv.split(spec)) {
            int eq = field.indexOf('=');
            String key = (eq < 0 ? field : field.substring(0, eq)).toLowerCase(Locale.ROOT);
            String value = eq < 0 ? null : field.substring(eq + 1);
            switch (key) {
                case "type" -> type = needValue(spec, field, value);
                case "source", "src" -> source = needValue(spec, field, value);
                case "target", "dst", "destination" -> target = needValue(spec, field, value);
                case "readonly", "ro" -> readOnly = bool(spec, field, value);
                case "consistency" -> needValue(spec, field, value);
                case "bind-propagation" -> {
                    propagation = needValue(spec, field, value);
                    if (!PROPAGATIONS.contains(propagation)) {
                        throw invalidMount(spec, "invalid bind-propagation \"" + propagation
                                + "\" (one of shared, slave, private, rshared, rslave, rprivate)");
                    }
                    typed.add("bind-propagation");
                }
                case "bind-nonrecursive" -> {
                    nonRecursive = bool(spec, field, value);
                    typed.add("bind-nonrecursive");
                }
                case "volume-nocopy" -> {
                    noCopy = bool(spec, field, value);
                    typed.add("volume-nocopy");
                }
                case "volume-label" -> {
                    String kv = needValue(spec, field, value);
                    int e = kv.indexOf('=');
                    labels.put(e < 0 ? kv : kv.substring(0, e), e < 0 ? "" : kv.substring(e + 1));
                    typed.add("volume-label");
                }
                case "volume-opt" -> {
                    String kv = needValue(spec, field, value);
                    int e = kv.indexOf('=');
                    if (e <= 0) {
                        throw invalidMount(spec, "volume-opt must be KEY=VALUE, not \"" + kv + "\"");
                    }
                    opts.put(kv.substring(0, e), kv.substring(e + 1));
                    typed.add("volume-opt");
                }
                case "volume-driver" -> {
                    String d = needValue(spec, field, value);
                    if (!d.equals("local")) {
                        throw invalidMount(spec, "volume-driver \"" + d + "\" is not available (only local)");
                    }
                    typed.add("volume-driver");
                }
                case "tmpfs-size" -> {
                    tmpfsSize = Sizes.parse("--mount tmpfs-size", needValue(spec, field, value));
                    typed.add("tmpfs-size");
                }
                case "tmpfs-mode" -> {
                    String v = needValue(spec, field, value);
                    try {
                        tmpfsMode = Integer.parseInt(v, 8);
                    } catch (NumberFormatException e) {
                        throw invalidMount(spec, "tmpfs-mode \"" + v + "\" is not an octal number");
                    }
                    if (tmpfsMode < 0 || tmpfsMode > 07777) {
                        throw invalidMount(spec, "tmpfs-mode \"" + v + "\" is not a file mode (0 to 7777)");
                    }
                    typed.add("tmpfs-mode");
                }
                default -> throw invalidMount(spec, "unexpected key '" + key + "' in '" + field + "'");
            }
        }
        if (!type.equals("bind") && !type.equals("volume") && !type.equals("tmpfs")) {
            throw invalidMount(spec, "mount type \"" + type + "\" is not supported (bind, volume or tmpfs)");
        }
        for (String k : typed) {
            if (!k.startsWith(type + "-")) {
                throw invalidMount(spec, "cannot mix '" + k + "' with mount type '" + type + "'");
            }
        }
        if (target == null || target.isEmpty()) {
            throw invalidMount(spec, "target is required");
        }
        target = checkMountTarget(spec, target);
        return switch (type) {
            case "bind" -> {
                if (source == null || source.isEmpty()) {
                    throw invalidMount(spec, "source is required for a bind mount");
                }
                if (!source.startsWith("/")) {
                    throw invalidMount(spec, "bind source \"" + source + "\" must be an absolute path");
                }
                yield new Bind(Path.of(source).normalize(), target, readOnly,
                        propagation == null ? DEFAULT_PROPAGATION : propagation,
                        nonRecursive == null || !nonRecursive, false);
            }
            case "volume" -> {
                if (source != null && !source.isEmpty()) {
                    if (source.startsWith("/")) {
                        throw invalidMount(spec, "volume source \"" + source
                                + "\" is a path: use type=bind for host directories");
                    }
                    try {
                        io.vessel.engine.volume.VolumeStore.checkName(source);
                    } catch (io.vessel.engine.volume.VolumeException e) {
                        throw invalidMount(spec, e.getMessage());
                    }
                }
                yield new Volume(source == null || source.isEmpty() ? null : source, target, readOnly,
                        noCopy != null && noCopy, DEFAULT_PROPAGATION, labels, opts);
            }
            default -> {
                if (source != null && !source.isEmpty()) {
                    throw invalidMount(spec, "a tmpfs mount takes no source");
                }
                List<String> o = new ArrayList<>();
                if (tmpfsSize != null) {
                    o.add("size=" + tmpfsSize);
                }
                if (tmpfsMode != null) {
                    o.add("mode=" + Integer.toOctalString(tmpfsMode));
                }
                yield new Tmpfs(target, readOnly, o);
            }
        };
    }

    /**
     * Parses {@code --tmpfs PATH[:OPTIONS]}; options are tmpfs mount options, comma-separated
     * ({@code size=64m}, {@code mode=1777}, {@code uid=}, {@code gid=}, {@code nr_inodes=},
     * {@code exec}, {@code noexec}, {@code ro}, ...).
     */
    static MountSpec parseTmpfsFlag(String spec) {
        int colon = spec.indexOf(':');
        String target = colon < 0 ? spec : spec.substring(0, colon);
        String options = colon < 0 ? "" : spec.substring(colon + 1);
        if (target.isEmpty()) {
            throw new IllegalArgumentException("invalid --tmpfs \"" + spec + "\": the path is empty");
        }
        if (!target.startsWith("/")) {
            throw new IllegalArgumentException("invalid --tmpfs \"" + spec + "\": \"" + target
                    + "\" is not an absolute path");
        }
        target = cleanPath(target);
        if (target.equals("/")) {
            throw new IllegalArgumentException("invalid --tmpfs \"" + spec + "\": destination can't be '/'");
        }
        boolean readOnly = false;
        List<String> out = new ArrayList<>();
        for (String o : options.split(",")) {
            if (o.isEmpty()) {
                continue;
            }
            int eq = o.indexOf('=');
            String key = eq < 0 ? o : o.substring(0, eq);
            if (eq >= 0 && TmpfsOptions.DATA.contains(key)) {
                String v = o.substring(eq + 1);
                if (key.equals("size") && !v.endsWith("%")) {
                    v = Long.toString(Sizes.parse("--tmpfs " + target + " size", v));
                }
                out.add(key + "=" + v);
            } else if (eq < 0 && TmpfsOptions.FLAGS.contains(key)) {
                if (key.equals("ro")) {
                    readOnly = true;
                } else if (key.equals("rw")) {
                    readOnly = false;
                } else {
                    out.add(key);
                }
            } else {
                throw new IllegalArgumentException("invalid --tmpfs \"" + spec + "\": unknown option \"" + o + "\"");
            }
        }
        return new Tmpfs(target, readOnly, out);
    }

    /** Refuses two mounts at one container path: Docker's "Duplicate mount point". */
    static void checkDistinct(List<MountSpec> mounts) {
        Set<String> seen = new HashSet<>();
        for (MountSpec m : mounts) {
            if (!seen.add(m.target())) {
                throw new IllegalArgumentException("duplicate mount point: " + m.target());
            }
        }
    }

    /** Tmpfs mount options {@code --tmpfs} accepts. */
    final class TmpfsOptions {
        static final Set<String> FLAGS = Set.of("rw", "ro", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
                "sync", "async", "dirsync", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime",
                "relatime", "norelatime", "strictatime", "nostrictatime");
        static final Set<String> DATA = Set.of("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol",
                "huge");

        private TmpfsOptions() {
        }
    }

    /** A {@code -v} mode: the comma-separated options after the second colon. */
    record VolumeMode(boolean readOnly, boolean noCopy, String propagation) {
        static boolean isMode(String mode) {
            try {
                parse("", mode);
                return !mode.isEmpty();
            } catch (IllegalArgumentException e) {
                return false;
            }
        }

        static VolumeMode parse(String spec, String mode) {
            Boolean ro = null;
            String label = null;
            String propagation = null;
            String consistency = null;
            boolean noCopy = false;
            if (mode.isEmpty()) {
                return new VolumeMode(false, false, DEFAULT_PROPAGATION);
            }
            for (String o : mode.split(",", -1)) {
                boolean twice;
                switch (o) {
                    case "ro", "rw" -> {
                        twice = ro != null;
                        ro = o.equals("ro");
                    }
                    case "z", "Z" -> { // SELinux relabelling: accepted, nothing to do without SELinux
                        twice = label != null;
                        label = o;
                    }
                    case "nocopy" -> {
                        twice = noCopy;
                        noCopy = true;
                    }
                    case "consistent", "cached", "delegated" -> {
                        twice = consistency != null;
                        consistency = o;
                    }
                    default -> {
                        if (!PROPAGATIONS.contains(o)) {
                            throw invalid(spec, "invalid mode \"" + mode + "\": unknown option \"" + o + "\"");
                        }
                        twice = propagation != null;
                        propagation = o;
                    }
                }
                if (twice) {
                    throw invalid(spec, "invalid mode \"" + mode + "\": \"" + o + "\" conflicts with an earlier option");
                }
            }
            return new VolumeMode(ro != null && ro, noCopy, propagation == null ? DEFAULT_PROPAGATION : propagation);
        }
    }

    private static String checkTarget(String spec, String target) {
        if (!target.startsWith("/")) {
            throw invalid(spec, "the container path \"" + target + "\" must be absolute");
        }
        target = cleanPath(target);
        if (target.equals("/")) {
            throw invalid(spec, "destination can't be '/'");
        }
        return target;
    }

    private static String checkMountTarget(String spec, String target) {
        if (!target.startsWith("/")) {
            throw invalidMount(spec, "the target \"" + target + "\" must be an absolute path");
        }
        target = cleanPath(target);
        if (target.equals("/")) {
            throw invalidMount(spec, "the target can't be '/'");
        }
        return target;
    }

    private static void checkVolumeName(String spec, String name) {
        try {
            io.vessel.engine.volume.VolumeStore.checkName(name);
        } catch (io.vessel.engine.volume.VolumeException e) {
            throw invalid(spec, e.getMessage());
        }
    }

    /** Lexical clean-up as Go's path.Clean: no {@code .}, {@code ..} resolved, no double or trailing slashes. */
    static String cleanPath(String p) {
        List<String> parts = new ArrayList<>();
        for (String s : p.split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                if (!parts.isEmpty()) {
                    parts.removeLast();
                }
            } else {
                parts.add(s);
            }
        }
        return "/" + String.join("/", parts);
    }

    private static String needValue(String spec, String field, String value) {
        if (value == null) {
            throw invalidMount(spec, "invalid field '" + field + "' must be a key=value pair");
        }
        return value;
    }

    private static boolean bool(String spec, String field, String value) {
        if (value == null) {
            return true;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw invalidMount(spec, "invalid value for '" + field.substring(0, field.indexOf('='))
                    + "': \"" + value + "\" is not true or false");
        };
    }

    private static IllegalArgumentException invalid(String spec, String why) {
        return new IllegalArgumentException("invalid volume specification \"" + spec + "\": " + why);
    }

    private static IllegalArgumentException invalidMount(String spec, String why) {
        return new IllegalArgumentException("invalid argument \"" + spec + "\" for --mount: " + why);
    }

    /** The CSV of {@code --mount}: fields split on commas, double quotes protect commas and are removed. */
    final class Csv {
        private Csv() {
        }

        static List<String> split(String s) {
            List<String> out = new ArrayList<>();
            StringBuilder cur = new StringBuilder();
            boolean quoted = false;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"') {
                    if (quoted && i + 1 < s.length() && s.charAt(i + 1) == '"') {
                        cur.append('"');
                        i++;
                    } else {
                        quoted = !quoted;
                    }
                } else if (c == ',' && !quoted) {
                    out.add(cur.toString());
                    cur.setLength(0);
                } else {
                    cur.append(c);
                }
            }
            if (quoted) {
                throw invalidMount(s, "unterminated quote");
            }
            out.add(cur.toString());
            out.removeIf(String::isEmpty);
            return out;
        }
    }
}
