package io.vessel.engine;

import io.vessel.engine.build.Dockerfile;
import io.vessel.engine.build.Instruction;
import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.layer.LayerWriter;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.store.ImageStore;
import io.vessel.image.store.ImageStore.Image;
import io.vessel.image.store.LayerStore;
import io.vessel.image.store.Snapshot;
import io.vessel.json.JsonNode;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;
import io.vessel.linux.MountTable;
import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a container's file system holds beyond its image, as {@code docker diff}, {@code commit}
 * and {@code export} see it. The container's writable layer ({@code upper}) is in overlayfs form:
 * a deleted file is a 0:0 character device (a whiteout), a directory whose lower content is gone
 * carries {@code trusted.overlay.opaque=y}; everything else in it was added or changed.
 *
 * <p>Nothing here writes to the container: diff reads the upper and lower directories, commit
 * archives the upper directory into the image store (the container paused meanwhile, as dockerd
 * does) and unpacks that archive as the new layer, export reads a mount of the merged view made
 * for the export alone and removed after it, however the export ends.
 */
public final class ContainerFiles {
    /** docker diff's kinds, with the API's numbers. */
    public enum Kind {
        MODIFIED, ADDED, DELETED;

        /** The API's {@code Kind}: 0 modified, 1 added, 2 deleted. */
        public int code() {
            return ordinal();
        }
    }

    /** One changed path (absolute, as seen in the container). */
    public record Change(String path, Kind kind) {
    }

    /**
     * docker commit.
     *
     * @param reference {@code repo[:tag]} to tag the image as, or null for none (a dangling image)
     * @param comment   the history entry's comment, or null
     * @param author    the image's author, or null
     * @param changes   Dockerfile instructions applied to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
     *                  ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR
     * @param pause     pause a running container while its layer is archived
     * @param config    Config fields (the API's body) that replace the container's, or null
     */
    public record CommitRequest(String container, String reference, String comment, String author,
                                List<String> changes, boolean pause, JsonNode config) {
        public CommitRequest {
            changes = changes == null ? List.of() : List.copyOf(changes);
        }
    }

    /**
     * What a container's process finds in its file system that is no part of the image, made there
     * for the bundle's mounts: Docker keeps these in its "init" layer, which diff and commit never show.
     */
    private static final Set<String> INIT_PATHS = Set.of("/dev", "/proc", "/sys", "/etc/hosts", "/etc/hostname",
            "/etc/resolv.conf", "/etc/mtab", "/.dockerenv");
    /** The 0:0 character device overlayfs leaves for a deleted file. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFDIR = 0040000;
    private static final String OPAQUE_XATTR = "trusted.overlay.opaque";
    /** mount(2)'s MS_BIND (include/uapi/linux/mount.h), without MS_REC: the overlay alone, not what is on it. */
    private static final long MS_BIND = 4096;
    /** The shell a shell-form CMD or ENTRYPOINT change runs under when the image sets none (Docker's). */
    private static final List<String> DEFAULT_SHELL = List.of("/bin/sh", "-c");

    private final Engine engine;
    private final Containers containers;

    ContainerFiles(Engine engine, Containers containers) {
        this.engine = engine;
        this.containers = containers;
    }

    // ---------------------------------------------------------------- diff

    /** docker diff: the container's changes to its image, sorted by path. */
    public List<Change> changes(String what) throws IOException {
        Containers.FileSystem fs = containers.fileSystem(what);
        Set<String> hidden = new TreeSet<>(INIT_PATHS);
        try {
            for (Spec.Mount m : containers.spec(fs.id()).mounts()) {
                hidden.add(m.destination());
            }
        } catch (NoSuchFileException noBundle) {
            // a container without a bundle shows its upper directory as it is
        }
        TreeMap<String, Kind> found = new TreeMap<>();
        if (Files.isDirectory(fs.upper())) {
            // frozen while walked: a process could otherwise swap a walked directory for a link to the host
            containers.whileFrozen(fs.id(), () -> {
                walk(fs.upper(), "", fs.lowers(), found);
                return null;
            });
        }
        // what only the bundle's mounts made, and directories that hold nothing else, are not the user's
        Set<String> dropped = new TreeSet<>();
        for (String p : found.keySet()) {
            if (under(p, hidden)) {
                dropped.add(p);
            }
        }
        for (String p : found.descendingKeySet()) {
            if (dropped.contains(p) || found.get(p) == Kind.DELETED) {
                continue;
            }
            String prefix = p + "/";
            var below = found.subMap(prefix, prefix + Character.MAX_VALUE).keySet();
            if (!below.isEmpty() && dropped.containsAll(below)) {
                dropped.add(p);
            }
        }
        List<Change> out = new ArrayList<>();
        found.forEach((p, k) -> {
            if (!dropped.contains(p)) {
                out.add(new Change(p, k));
            }
        });
        return out;
    }

    private static boolean under(String path, Set<String> roots) {
        for (String r : roots) {
            if (path.equals(r) || path.startsWith(r + "/")) {
                return true;
            }
        }
        return false;
    }

    /** Records the changes under {@code dir} of the upper directory ({@code rel} its path in the container). */
    private void walk(Path dir, String rel, List<Path> lowers, Map<String, Kind> out) throws IOException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(entries::add);
        } catch (NoSuchFileException gone) {
            return; // removed by the running container meanwhile
        }
        for (Path p : entries) {
            try {
                walkEntry(p, rel + "/" + p.getFileName(), lowers, out);
            } catch (NoSuchFileException gone) {
                // removed by the running container meanwhile: no change to report
            }
        }
    }

    private void walkEntry(Path p, String path, List<Path> lowers, Map<String, Kind> out) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
        int type = (Integer) a.get("mode") & S_IFMT;
        if (type == S_IFCHR && ((Number) a.get("rdev")).longValue() == 0) {
            out.put(path, Kind.DELETED);
            return;
        }
        Map<String, Object> lower = lowerAttributes(lowers, path);
        if (type != S_IFDIR) {
            out.put(path, lower == null ? Kind.ADDED : Kind.MODIFIED);
            return;
        }
        if (lower == null) {
            out.put(path, Kind.ADDED);
        } else if (opaque(p)) {
            out.put(path, Kind.MODIFIED);
            for (String name : lowerNames(lowers, path)) {
                if (!Files.exists(p.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
                    out.put(path + "/" + name, Kind.DELETED);
                }
            }
        } else if (metadataDiffers(p, lower)) {
            out.put(path, Kind.MODIFIED);
        }
        walk(p, path, lowers, out);
    }

    private static boolean metadataDiffers(Path p, Map<String, Object> lower) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
        return !a.get("mode").equals(lower.get("mode")) || !a.get("uid").equals(lower.get("uid"))
                || !a.get("gid").equals(lower.get("gid"))
                || ((FileTime) a.get("lastModifiedTime")).compareTo((FileTime) lower.get("lastModifiedTime")) != 0;
    }

    private static boolean opaque(Path dir) throws IOException {
        byte[] v = io.vessel.linux.Files.lgetxattr(dir.toString(), OPAQUE_XATTR);
        return v != null && v.length == 1 && v[0] == 'y';
    }

    private static boolean whiteout(Map<String, Object> a) {
        return ((Integer) a.get("mode") & S_IFMT) == S_IFCHR && ((Number) a.get("rdev")).longValue() == 0;
    }

    private static Map<String, Object> attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, "unix:mode,rdev,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * The attributes {@code path} has in the image (the lower layers, top first, as overlayfs merges
     * them: a whiteout hides what is below, an opaque directory hides the layers below it), or null.
     */
    private static Map<String, Object> lowerAttributes(List<Path> lowers, String path) throws IOException {
        String[] parts = path.substring(1).split("/");
        for (Path layer : lowers) {
            Path q = layer;
            boolean stop = false;
            boolean complete = true;
            for (int i = 0; i < parts.length - 1; i++) {
                q = q.resolve(parts[i]);
                Map<String, Object> a = attributes(q);
                if (a == null) {
                    complete = false;
                    break;
                }
                if (whiteout(a) || ((Integer) a.get("mode") & S_IFMT) != S_IFDIR) {
                    return null;
                }
                if (opaque(q)) {
                    stop = true;
                }
            }
            if (complete) {
                Map<String, Object> a = attributes(q.resolve(parts[parts.length - 1]));
                if (a != null) {
                    return whiteout(a) ? null : a;
                }
            }
            if (stop) {
                return null;
            }
        }
        return null;
    }

    /** The names the directory {@code path} holds in the image. */
    private static Set<String> lowerNames(List<Path> lowers, String path) throws IOException {
        Set<String> candidates = new TreeSet<>();
        for (Path layer : lowers) {
            Path d = layer.resolve(path.substring(1));
            if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
                    s.forEach(p -> candidates.add(p.getFileName().toString()));
                }
            }
        }
        Set<String> out = new TreeSet<>();
        for (String name : candidates) {
            if (lowerAttributes(lowers, path + "/" + name) != null) {
                out.add(name);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- export

    /**
     * docker export: the container's whole file system (its merged view, without the bundle's mounts
     * or volumes) as a tar on {@code out}. A container whose root is mounted (created, running) is
     * read through a bind mount of that overlay alone; a stopped one's upper and lower directories are
     * mounted read-only for the export. Either mount is removed when the export ends, also when
     * writing to {@code out} fails (a client that hung up). A running container is frozen while it
     * is read ({@link Containers#inRoot} says why).
     */
    public void export(String what, OutputStream out) throws IOException {
        Containers.FileSystem fs = containers.fileSystem(what);
        Path work = engine.config().runDir().resolve("export").resolve(fs.id().substring(0, 12) + "-" + random());
        Path target = work.resolve("rootfs");
        Files.createDirectories(target);
        try {
            Path rootfs = fs.dir().resolve("rootfs");
            if (MountTable.isMountPoint(rootfs)) {
                Mount.mount(rootfs.toString(), target.toString(), null, MS_BIND, null);
            } else {
                List<Path> layers = new ArrayList<>();
                if (Files.isDirectory(fs.upper())) {
                    layers.add(fs.upper());
                }
                layers.addAll(fs.lowers());
                Snapshot.prepare(work, layers).mount(target, true);
            }
            // frozen: the walk goes by paths, which a running process could swap for links to the host's files
            containers.whileFrozen(fs.id(), () -> {
                LayerWriter.write(target, out, LayerWriter.Options.defaults());
                out.flush();
                return null;
            });
        } finally {
            try {
                Mount.detachAll(target.toString());
            } finally {
                FileTrees.remove(work);
            }
        }
        containers.announce("export", fs.id(), Map.of());
    }

    private static String random() {
        byte[] b = new byte[6];
        new java.security.SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    // ---------------------------------------------------------------- commit

    /**
     * docker commit: the container's writable layer as a new layer over its image's, the image's
     * config with the container's (command, environment, working directory, user, ports, labels,
     * volumes), then {@code config} and the {@code changes} over it, and a history entry. Returns the
     * new image, tagged when a reference is given. Bad input (a reference, a change) is refused before
     * anything is paused or written.
     */
    public Image commit(CommitRequest r) throws IOException {
        Reference ref = r.reference() == null || r.reference().isEmpty() ? null : Reference.parse(r.reference());
        List<Instruction> changes = parseChanges(r.changes());
        Containers.FileSystem fs = containers.fileSystem(r.container());
        ImageStore store = engine.images().store();
        Image base;
        try {
            base = store.resolve(fs.image().toString());
        } catch (io.vessel.image.store.ImageNotFoundException e) {
            throw new IllegalStateException("cannot commit container " + fs.name() + ": its image " + fs.image()
                    + " is no longer in the store", e);
        }
        ImageConfig.Config config = containerConfig(fs, base.config().config());
        if (r.config() != null && r.config().present() && r.config().value() != null) {
            config = override(config, r.config());
        }
        config = applyChanges(config, changes);
        try (Engine.Lease ignored = engine.lease()) {
            LayerWriter.Stored layer = archiveUpper(fs, r.pause());
            LayerStore.Layer unpacked = store.layerStore().unpack(base.chainIds().size(), base.topChainId(),
                    layer.descriptor(), layer.diffId(), store.blobs());
            List<Descriptor> blobs = new ArrayList<>(base.manifest().layers());
            blobs.add(unpacked.blob());
            List<Digest> diffIds = new ArrayList<>(base.config().rootfs().diffIds());
            diffIds.add(layer.diffId());
            String now = Instant.now().toString();
            List<ImageConfig.History> history = new ArrayList<>(base.config().history());
            history.add(new ImageConfig.History(now, String.join(" ", fs.command()), blank(r.author()),
                    blank(r.comment()), false));
            ImageConfig.Config made = config;
            ImageConfig ic = new ImageConfig(now, blank(r.author()), base.config().architecture(), base.config().os(),
                    base.config().variant(), made, new ImageConfig.RootFs(ImageConfig.ROOTFS_LAYERS, diffIds), history);
            Image image = store.writeImage(ic, blobs, Map.of(Engine.PARENT_ANNOTATION, base.id().toString()));
            if (ref != null) {
                image = store.tag(ref, image.manifestDescriptor());
            }
            Map<String, String> attrs = new LinkedHashMap<>();
            attrs.put("comment", r.comment() == null ? "" : r.comment());
            attrs.put("imageID", image.id().toString());
            attrs.put("imageRef", ref == null ? "" : ref.familiar());
            containers.announce("commit", fs.id(), attrs);
            return image;
        }
    }

    private static String blank(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /**
     * The upper directory as a layer blob, the container paused meanwhile (with its events) when it
     * runs and {@code pause}. Without {@code pause} it is still frozen for the walk, silently: a
     * process could otherwise swap a directory for a link to the host and put host files in the image.
     */
    private LayerWriter.Stored archiveUpper(Containers.FileSystem fs, boolean pause) throws IOException {
        Path upper = fs.upper();
        if (!Files.isDirectory(upper)) {
            Files.createDirectories(upper); // a container that never had one changed nothing
        }
        boolean paused = pause && fs.status().equals("running");
        if (paused) {
            containers.pause(fs.id());
        }
        try {
            return containers.whileFrozen(fs.id(),
                    () -> LayerWriter.store(upper, engine.images().store().blobs(), LayerWriter.Options.defaults()));
        } finally {
            if (paused) {
                containers.unpause(fs.id());
            }
        }
    }

    /** The container's Config as dockerd keeps it: the image's with what its creator set. */
    private ImageConfig.Config containerConfig(Containers.FileSystem fs, ImageConfig.Config image) throws IOException {
        JsonNode api = containers.apiConfig(fs.id()).get("Config");
        List<String> entrypoint = image.entrypoint();
        List<String> cmd = image.cmd();
        if (api.get("Cmd").present()) {
            // the Docker API's create keeps the effective command: the image's unless the client set it
            entrypoint = given(api.get("Entrypoint")) ? strings(api.get("Entrypoint")) : List.of();
            cmd = given(api.get("Cmd")) ? strings(api.get("Cmd")) : List.of();
        } else if (!fs.command().equals(concat(entrypoint, cmd))) {
            // made without the Docker API: its record's command is the entrypoint and cmd together
            entrypoint = List.of();
            cmd = fs.command();
        }
        List<String> env = new ArrayList<>(image.env());
        JsonNode e = api.get("Env");
        if (given(e)) {
            for (String pair : e.stringList()) {
                setEnv(env, pair);
            }
        }
        Map<String, String> labels = new LinkedHashMap<>(image.labels());
        if (given(api.get("Labels"))) {
            labels.putAll(api.get("Labels").stringMap());
        }
        Set<String> ports = new LinkedHashSet<>(image.exposedPorts());
        if (given(api.get("ExposedPorts")) && api.get("ExposedPorts").isObject()) {
            ports.addAll(api.get("ExposedPorts").keys());
        }
        Set<String> volumes = new LinkedHashSet<>(image.volumes());
        if (given(api.get("Volumes")) && api.get("Volumes").isObject()) {
            volumes.addAll(api.get("Volumes").keys());
        }
        String user = given(api.get("User")) && !api.get("User").string().isEmpty() ? api.get("User").string()
                : image.user();
        String workingDir = given(api.get("WorkingDir")) && !api.get("WorkingDir").string().isEmpty()
                ? api.get("WorkingDir").string() : image.workingDir();
        String stopSignal = given(api.get("StopSignal")) && !api.get("StopSignal").string().isEmpty()
                ? api.get("StopSignal").string() : image.stopSignal();
        return new ImageConfig.Config(user, env, entrypoint, cmd, workingDir, ports, volumes, labels, stopSignal,
                image.shell(), image.healthcheck(), image.onBuild());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static boolean given(JsonNode n) {
        return n.present() && n.value() != null;
    }

    /** A string list, or one string (Docker's StrSlice takes both). */
    private static List<String> strings(JsonNode n) {
        return n.value() instanceof String s ? List.of(s) : n.stringList();
    }

    private static void setEnv(List<String> env, String pair) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("invalid environment variable \"" + pair + "\": use NAME=VALUE");
        }
        String prefix = pair.substring(0, eq + 1);
        for (int i = 0; i < env.size(); i++) {
            if (env.get(i).startsWith(prefix)) {
                env.set(i, pair);
                return;
            }
        }
        env.add(pair);
    }

    /** The commit request's Config body: the fields it sets replace the container's. */
    private static ImageConfig.Config override(ImageConfig.Config c, JsonNode body) {
        if (!body.isObject()) {
            throw new IllegalArgumentException("the commit body must be a JSON object (a container Config) or null");
        }
        List<String> entrypoint = given(body.get("Entrypoint")) ? strings(body.get("Entrypoint")) : c.entrypoint();
        List<String> cmd = given(body.get("Cmd")) ? strings(body.get("Cmd")) : c.cmd();
        List<String> env = new ArrayList<>(c.env());
        if (given(body.get("Env"))) {
            for (String pair : body.get("Env").stringList()) {
                setEnv(env, pair);
            }
        }
        Map<String, String> labels = new LinkedHashMap<>(c.labels());
        if (given(body.get("Labels"))) {
            labels.putAll(body.get("Labels").stringMap());
        }
        Set<String> ports = new LinkedHashSet<>(c.exposedPorts());
        if (given(body.get("ExposedPorts"))) {
            ports.addAll(body.get("ExposedPorts").keys());
        }
        Set<String> volumes = new LinkedHashSet<>(c.volumes());
        if (given(body.get("Volumes"))) {
            volumes.addAll(body.get("Volumes").keys());
        }
        String user = given(body.get("User")) && !body.get("User").string().isEmpty() ? body.get("User").string()
                : c.user();
        String workingDir = given(body.get("WorkingDir")) && !body.get("WorkingDir").string().isEmpty()
                ? body.get("WorkingDir").string() : c.workingDir();
        String stopSignal = given(body.get("StopSignal")) && !body.get("StopSignal").string().isEmpty()
                ? body.get("StopSignal").string() : c.stopSignal();
        return new ImageConfig.Config(user, env, entrypoint, cmd, workingDir, ports, volumes, labels, stopSignal,
                c.shell(), c.healthcheck(), c.onBuild());
    }

    /** Parses {@code --change} lines as Dockerfile instructions; only those that set the config are allowed. */
    static List<Instruction> parseChanges(List<String> lines) {
        List<Instruction> out = new ArrayList<>();
        int n = 0;
        for (String line : lines) {
            n++;
            if (line == null || line.isBlank()) {
                continue;
            }
            Instruction ins;
            try {
                ins = Dockerfile.parseInstruction(line.strip(), '\\', "--change", n);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("invalid change \"" + line + "\": " + e.getMessage(), e);
            }
            switch (ins) {
                case Instruction.Cmd x -> out.add(x);
                case Instruction.Entrypoint x -> out.add(x);
                case Instruction.Env x -> out.add(x);
                case Instruction.Expose x -> out.add(x);
                case Instruction.Label x -> out.add(x);
                case Instruction.User x -> out.add(x);
                case Instruction.Workdir x -> out.add(x);
                case Instruction.Volume x -> out.add(x);
                case Instruction.StopSignal x -> out.add(x);
                case Instruction.Onbuild x -> out.add(x);
                default -> throw new IllegalArgumentException("invalid change \"" + line + "\": only CMD, ENTRYPOINT, "
                        + "ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR can be changed by a commit");
            }
        }
        return out;
    }

    /** Applies the changes in order, as a Dockerfile's instructions apply to the config. */
    private static ImageConfig.Config applyChanges(ImageConfig.Config c, List<Instruction> changes) {
        List<String> entrypoint = c.entrypoint();
        List<String> cmd = c.cmd();
        List<String> env = new ArrayList<>(c.env());
        Map<String, String> labels = new LinkedHashMap<>(c.labels());
        Set<String> ports = new LinkedHashSet<>(c.exposedPorts());
        Set<String> volumes = new LinkedHashSet<>(c.volumes());
        List<String> onBuild = new ArrayList<>(c.onBuild());
        String user = c.user();
        String workingDir = c.workingDir();
        String stopSignal = c.stopSignal();
        List<String> shell = c.shell().isEmpty() ? DEFAULT_SHELL : c.shell();
        boolean cmdSet = false;
        for (Instruction ins : changes) {
            switch (ins) {
                case Instruction.Cmd x -> {
                    cmd = x.command().argv(shell);
                    cmdSet = true;
                }
                case Instruction.Entrypoint x -> {
                    entrypoint = x.command().argv(shell);
                    if (!cmdSet) {
                        cmd = List.of(); // as in a build: a new ENTRYPOINT drops the CMD set before
                    }
                }
                case Instruction.Env x -> x.pairs().forEach(kv -> setEnv(env, kv.key() + "=" + kv.value()));
                case Instruction.Label x -> x.pairs().forEach(kv -> labels.put(kv.key(), kv.value()));
                case Instruction.Expose x -> {
                    for (String p : x.ports()) {
                        ports.add(p.contains("/") ? p.toLowerCase(java.util.Locale.ROOT) : p + "/tcp");
                    }
                }
                case Instruction.Volume x -> {
                    for (String p : x.paths()) {
                        if (!p.startsWith("/")) {
                            throw new IllegalArgumentException("invalid change \"" + x.text()
                                    + "\": a volume must be an absolute path, not \"" + p + "\"");
                        }
                        volumes.add(p);
                    }
                }
                case Instruction.User x -> user = x.user();
                case Instruction.Workdir x -> workingDir = x.path().startsWith("/") ? x.path()
                        : Path.of(workingDir == null || workingDir.isEmpty() ? "/" : workingDir).resolve(x.path())
                        .normalize().toString();
                case Instruction.StopSignal x -> stopSignal = x.signal();
                case Instruction.Onbuild x -> onBuild.add(x.trigger());
                default -> throw new IllegalArgumentException("not a change: " + ins.text());
            }
        }
        return new ImageConfig.Config(user, env, entrypoint, cmd, workingDir, ports, volumes, labels, stopSignal,
                c.shell(), c.healthcheck(), onBuild);
    }
}
