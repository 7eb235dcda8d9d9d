package io.vessel.engine.build;

import io.vessel.engine.Engine;
import io.vessel.engine.container.BundleMaker;
import io.vessel.engine.container.ExecUser;
import io.vessel.engine.container.RootPath;
import io.vessel.engine.container.RunOptions;
import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.layer.LayerApplier;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.Platform;
import io.vessel.image.registry.ProgressListener;
import io.vessel.image.store.ImageNotFoundException;
import io.vessel.image.store.ImageStore;
import io.vessel.image.store.ImageStore.Image;
import io.vessel.image.store.LayerStore;
import io.vessel.image.store.Snapshot;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.Fd;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;
import io.vessel.runtime.container.Container;
import io.vessel.runtime.container.RuntimeError;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a {@link BuildPlan} against an {@link Engine}, step by step, as Docker's classic builder
 * does: each step starts from the previous step's image and ends as a new (intermediate) image,
 * recorded in the {@link BuildCache} under the step's {@link CacheKey}. A step whose key is in the
 * cache is not run: its image is taken as it is, so a fully cached build starts no container,
 * mounts nothing and writes no layer, and yields the same image ID as the build that filled the cache.
 *
 * <p>RUN runs in a container made from the step's state (ENV and ARGs, USER, WORKDIR, created if
 * missing) on an overlay snapshot of the parent's layers, through Vessel's runtime in this process,
 * <em>with the host's network</em> (docker build --network host): builds fetch packages without a bridge. Its
 * upper directory becomes the step's layer. COPY and ADD write into a mounted snapshot the same way.
 * Every other instruction changes only the config (a history entry with {@code empty_layer}).
 * A failed step leaves nothing: no container state, mount, or directory; nothing is tagged.
 */
public final class BuildExecutor {
    private static final String NOP = "#(nop) ";

    private final Engine engine;
    private final ImageStore store;
    private final BuildRequest request;
    private final BuildOutput out;
    private final Dockerfile dockerfile;
    private final BuildPlan plan;
    private final BuildContext context;
    private final BuildCache cache;
    private final Path workRoot;
    private final Map<Integer, Image> stageResults = new HashMap<>();
    private final int totalSteps;
    private int stepNumber;
    private int cachedSteps;

    public BuildExecutor(Engine engine, BuildRequest request, BuildOutput out, Dockerfile dockerfile, BuildContext context)
            throws IOException {
        this.engine = engine;
        this.store = engine.images().store();
        this.request = request;
        this.out = out;
        this.dockerfile = dockerfile;
        this.plan = BuildPlan.of(dockerfile, new BuildOptions(request.buildArgs(), request.target(), Platform.LINUX_AMD64));
        this.context = context;
        this.cache = BuildCache.open(engine.config().root(), store, Engine.BUILD_STEP_ANNOTATION);
        this.workRoot = engine.config().root().resolve("build");
        int n = 0;
        for (BuildPlan.PlannedStage s : plan.stages()) {
            n += 1 + s.stage().instructions().size();
        }
        this.totalSteps = n;
    }

    public int totalSteps() {
        return totalSteps;
    }

    public int cachedSteps() {
        return cachedSteps;
    }

    /** Runs every planned stage; returns the target stage's image. */
    public Image run() throws IOException {
        for (String unused : plan.unusedBuildArgs()) {
            out.line("[Warning] One or more build-args [" + unused + "] were not consumed");
        }
        for (BuildPlan.PlannedStage s : plan.stages()) {
            stageResults.put(s.index(), runStage(s));
        }
        return stageResults.get(plan.target().index());
    }

    /** The state of a stage between steps: the image so far and the key that leads to it. */
    private final class Work {
        Image image; // null while a scratch stage has no step yet
        String parentKey;
        ImageConfig config;
        boolean unpacked;
        boolean cmdSet;
    }

    private Image runStage(BuildPlan.PlannedStage ps) throws IOException {
        Instruction.From from = ps.stage().from();
        step(from);
        Work w = new Work();
        switch (ps.base()) {
            case BuildPlan.Base.Image i -> {
                try {
                    w.image = engine.images().find(i.reference(), true, ProgressListener.NONE);
                } catch (IOException | RuntimeException e) {
                    throw new BuildException(dockerfile.fileName(), from.line(), "FROM " + i.reference() + ": "
                            + e.getMessage(), e);
                }
            }
            case BuildPlan.Base.Stage s -> w.image = stageResults.get(s.index());
            case BuildPlan.Base.Scratch x -> w.image = null;
        }
        if (w.image != null) {
            print(" ---> " + shortId(w.image.id()));
            w.parentKey = w.image.id().toString();
            w.config = w.image.config();
        } else {
            w.parentKey = CacheKey.SCRATCH;
            w.config = new ImageConfig(null, null, Platform.LINUX_AMD64.architecture(), "linux", null,
                    ImageConfig.Config.EMPTY, new ImageConfig.RootFs(ImageConfig.ROOTFS_LAYERS, List.of()), List.of());
        }
        ImageConfig.Config base = w.config.config();
        StageState state = plan.start(base.env(), base.user(), base.workingDir());
        List<Instruction> instructions = new ArrayList<>();
        for (String trigger : base.onBuild()) {
            instructions.add(Dockerfile.parseInstruction(trigger, dockerfile.escape(), dockerfile.fileName(),
                    from.line()));
        }
        if (!base.onBuild().isEmpty()) {
            print("# Executing " + base.onBuild().size() + " build trigger" + (base.onBuild().size() == 1 ? "" : "s"));
            w.config = withConfig(w.config, cfg(base).onBuild(List.of()).build()); // triggers do not pass on
        }
        int triggers = instructions.size();
        instructions.addAll(ps.stage().instructions());
        for (int k = 0; k < instructions.size(); k++) {
            Instruction ins = instructions.get(k);
            if (k >= triggers) {
                step(ins);
            }
            Step st;
            try {
                st = state.step(ins);
            } catch (DockerfileException e) {
                throw e;
            }
            runStep(ps, w, st, state);
        }
        if (w.image == null) {
            throw new BuildException(dockerfile.fileName(), from.line(), "stage " + ps.index()
                    + " is FROM scratch and has no instruction: no image was generated", null);
        }
        return w.image;
    }

    private void step(Instruction ins) {
        stepNumber++;
        if (!request.quiet()) {
            out.line("Step " + stepNumber + "/" + totalSteps + " : " + ins.text());
        }
    }

    private void print(String line) {
        if (!request.quiet()) {
            out.line(line);
        }
    }

    private void runStep(BuildPlan.PlannedStage ps, Work w, Step st, StageState state) throws IOException {
        Instruction ins = st.expanded();
        int line = ins.line();
        Digest content = null;
        BuildContext.Selection selection = null;
        Image fromImage = null;
        try {
            if (ins instanceof Instruction.Copy c) {
                switch (plan.sourceOf(ps.stage(), c)) {
                    case BuildPlan.Source.Context x -> {
                        selection = context.resolve(c, dockerfile.fileName());
                        content = withHeredocs(selection.digest(), c.heredocs());
                    }
                    case BuildPlan.Source.Stage s -> {
                        fromImage = stageResults.get(s.index());
                        content = fromImage.id();
                    }
                    case BuildPlan.Source.Image i -> {
                        fromImage = engine.images().find(i.reference(), true, ProgressListener.NONE);
                        content = fromImage.id();
                    }
                }
            } else if (ins instanceof Instruction.Add a) {
                selection = context.resolve(a, dockerfile.fileName());
                content = selection.digest();
            }
        } catch (DockerfileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new BuildException(dockerfile.fileName(), line, ins.keyword() + ": " + e.getMessage(), e);
        }
        CacheKey key = CacheKey.of(w.parentKey, st, content);
        if (!request.noCache()) {
            Image hit = cached(key);
            if (hit != null) {
                print(" ---> Using cache");
                print(" ---> " + shortId(hit.id()));
                cachedSteps++;
                w.image = hit;
                w.config = hit.config();
                w.parentKey = key.toString();
                w.unpacked = false;
                if (ins instanceof Instruction.Cmd) {
                    w.cmdSet = true;
                }
                return;
            }
        }
        String now = Instant.now().toString();
        ImageConfig.Config c = w.config.config();
        List<Descriptor> layers = w.image == null ? new ArrayList<>() : new ArrayList<>(w.image.manifest().layers());
        List<Digest> diffIds = new ArrayList<>(w.config.rootfs().diffIds());
        String createdBy;
        boolean empty = true;
        ImageConfig.Config next = c;
        String author = w.config.author();
        switch (ins) {
            case Instruction.Run r -> {
                List<String> argv = runArgv(r, st);
                createdBy = "RUN " + String.join(" ", argv);
                LayerStore.Layer layer = runContainer(w, st, argv, line);
                layers.add(layer.blob());
                diffIds.add(layer.diffId());
                empty = false;
            }
            case Instruction.Copy cp -> {
                LayerStore.Layer layer = copy(w, st, cp.dest(), cp.chown(), cp.chmod(), selection, cp.heredocs(),
                        fromImage, cp.sources(), false, line);
                createdBy = shellPrefix(st) + NOP + "COPY " + (fromImage != null ? "from:" + fromImage.id().hex()
                        : "dir:" + content.hex()) + " in " + cp.dest() + " ";
                layers.add(layer.blob());
                diffIds.add(layer.diffId());
                empty = false;
            }
            case Instruction.Add ad -> {
                LayerStore.Layer layer = copy(w, st, ad.dest(), ad.chown(), ad.chmod(), selection, List.of(), null,
                        ad.sources(), true, line);
                createdBy = shellPrefix(st) + NOP + "ADD dir:" + content.hex() + " in " + ad.dest() + " ";
                layers.add(layer.blob());
                diffIds.add(layer.diffId());
                empty = false;
            }
            default -> {
                next = applyConfig(w, c, ins, st, state);
                if (ins instanceof Instruction.Maintainer m) {
                    author = m.name();
                }
                createdBy = shellPrefix(st) + NOP + " " + nopText(ins);
            }
        }
        List<ImageConfig.History> history = new ArrayList<>(w.config.history());
        history.add(new ImageConfig.History(now, createdBy, null, null, empty));
        ImageConfig config = new ImageConfig(now, author, w.config.architecture(), w.config.os(), w.config.variant(),
                next, new ImageConfig.RootFs(ImageConfig.ROOTFS_LAYERS, diffIds), history);
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put(Engine.BUILD_STEP_ANNOTATION, key.toString());
        if (w.image != null) {
            annotations.put(Engine.PARENT_ANNOTATION, w.image.id().toString());
        }
        Image image = store.writeImage(config, layers, annotations);
        cache.put(key, image.id());
        print(" ---> " + shortId(image.id()));
        w.image = image;
        w.config = image.config();
        w.parentKey = key.toString();
        w.unpacked = true;
    }

    /** The cached image for {@code key}, or null when there is none or it was removed. */
    private Image cached(CacheKey key) throws IOException {
        Digest id = cache.get(key);
        if (id == null) {
            return null;
        }
        try {
            Image i = store.resolve(id.toString());
            if (!key.toString().equals(i.manifest().annotations().get(Engine.BUILD_STEP_ANNOTATION))) {
                return null;
            }
            return i;
        } catch (ImageNotFoundException gone) {
            cache.forget(key);
            return null;
        }
    }

    // ---- config-only instructions

    private ImageConfig.Config applyConfig(Work w, ImageConfig.Config c, Instruction ins, Step st, StageState state) {
        ConfigBuilder b = cfg(c);
        switch (ins) {
            case Instruction.Env e -> b.env(state.env());
            case Instruction.Label l -> {
                Map<String, String> labels = new LinkedHashMap<>(c.labels());
                for (Instruction.KeyValue kv : l.pairs()) {
                    labels.put(kv.key(), kv.value());
                }
                b.labels(labels);
            }
            case Instruction.Workdir wd -> b.workingDir(state.workdir());
            case Instruction.User u -> b.user(u.user());
            case Instruction.Cmd cmd -> {
                b.cmd(cmd.command().argv(st.shell()));
                w.cmdSet = true;
            }
            case Instruction.Entrypoint ep -> {
                b.entrypoint(ep.command().argv(st.shell()));
                if (!w.cmdSet) {
                    b.cmd(List.of()); // Docker: a new ENTRYPOINT drops the base image's CMD
                }
            }
            case Instruction.Expose x -> {
                Set<String> ports = new LinkedHashSet<>(c.exposedPorts());
                for (String p : x.ports()) {
                    ports.addAll(expandPorts(p));
                }
                b.exposedPorts(ports);
            }
            case Instruction.Volume v -> {
                Set<String> vols = new LinkedHashSet<>(c.volumes());
                for (String p : v.paths()) {
                    if (p.isEmpty()) {
                        throw new DockerfileException(dockerfile.fileName(), v.line(), "VOLUME specified can not be an empty string");
                    }
                    vols.add(PathNames.resolve("/", p));
                }
                b.volumes(vols);
            }
            case Instruction.Shell s -> b.shell(s.shell());
            case Instruction.StopSignal s -> b.stopSignal(s.signal());
            case Instruction.Healthcheck h -> b.healthcheck(new ImageConfig.Healthcheck(h.test(), nanos(h.interval()),
                    nanos(h.timeout()), nanos(h.startPeriod()), nanos(h.startInterval()), h.retries()));
            case Instruction.Onbuild o -> {
                List<String> triggers = new ArrayList<>(c.onBuild());
                triggers.add(o.trigger());
                b.onBuild(triggers);
            }
            default -> {
                // ARG, MAINTAINER (the author, set by the caller): nothing in Config
            }
        }
        return b.build();
    }

    private static Long nanos(Duration d) {
        return d == null ? null : d.toNanos();
    }

    /** {@code 80} → 80/tcp; {@code 8000-8002/udp} → each port of the range, as Docker stores them. */
    private static List<String> expandPorts(String spec) {
        String proto = "tcp";
        String ports = spec;
        int slash = spec.indexOf('/');
        if (slash >= 0) {
            proto = spec.substring(slash + 1).toLowerCase(java.util.Locale.ROOT);
            ports = spec.substring(0, slash);
        }
        int dash = ports.indexOf('-');
        int lo = Integer.parseInt(dash < 0 ? ports : ports.substring(0, dash));
        int hi = dash < 0 ? lo : Integer.parseInt(ports.substring(dash + 1));
        List<String> out = new ArrayList<>();
        for (int p = lo; p <= hi; p++) {
            out.add(p + "/" + proto);
        }
        return out;
    }

    private static String nopText(Instruction ins) {
        return switch (ins) {
            case Instruction.Env e -> "ENV " + String.join(" ", e.pairs().stream().map(kv -> kv.key() + "=" + kv.value()).toList());
            case Instruction.Label l -> "LABEL " + String.join(" ", l.pairs().stream().map(kv -> kv.key() + "=" + kv.value()).toList());
            case Instruction.Workdir w -> "WORKDIR " + w.path();
            case Instruction.User u -> "USER " + u.user();
            case Instruction.Cmd c -> "CMD " + io.vessel.json.Json.write(c.command().args());
            case Instruction.Entrypoint e -> "ENTRYPOINT " + io.vessel.json.Json.write(e.command().args());
            case Instruction.Expose x -> "EXPOSE " + String.join(" ", x.ports().stream().flatMap(p -> expandPorts(p).stream()).toList());
            case Instruction.Volume v -> "VOLUME " + io.vessel.json.Json.write(v.paths());
            case Instruction.StopSignal s -> "STOPSIGNAL " + s.signal();
            default -> ins.text();
        };
    }

    private static String shellPrefix(Step st) {
        return String.join(" ", st.shell()) + " ";
    }

    // ---- RUN

    /** RUN's argument vector: exec form as is, shell form through SHELL, heredocs given to the shell. */
    private static List<String> runArgv(Instruction.Run r, Step st) {
        if (!r.command().shellForm()) {
            return r.command().args();
        }
        String cmd = r.command().args().getFirst();
        if (r.heredocs().isEmpty()) {
            return r.command().argv(st.shell());
        }
        if (r.heredocs().size() == 1 && cmd.strip().matches("<<-?[\"']?" + java.util.regex.Pattern.quote(
                r.heredocs().getFirst().name()) + "[\"']?")) {
            return Instruction.Command.shell(r.heredocs().getFirst().content()).argv(st.shell()); // RUN <<EOF: a script
        }
        StringBuilder script = new StringBuilder(cmd).append('\n');
        for (Instruction.Heredoc h : r.heredocs()) {
            script.append(h.content()).append(h.name()).append('\n');
        }
        return Instruction.Command.shell(script.toString()).argv(st.shell());
    }

    private LayerStore.Layer runContainer(Work w, Step st, List<String> argv, int line) throws IOException {
        if (argv.isEmpty()) {
            throw new BuildException(dockerfile.fileName(), line, "RUN has an empty command", null);
        }
        String id = "build-" + randomHex();
        Path dir = workRoot.resolve(id);
        Path rootfs = dir.resolve("rootfs");
        Snapshot snapshot = null;
        Container container = null;
        try {
            Files.createDirectories(rootfs);
            snapshot = Snapshot.prepare(dir, lowers(w, dir));
            snapshot.mount(rootfs, false);
            ImageConfig.Config run = cfg(w.config.config()).env(st.runEnvironment())
                    .user(st.user().isEmpty() ? null : st.user()).workingDir(st.workdir())
                    .entrypoint(List.of()).cmd(argv).build();
            ImageConfig image = withConfig(w.config, run);
            RunOptions options = RunOptions.builder().entrypoint(List.of()).cmd(argv).network("host").build();
            BundleMaker.Made made = new BundleMaker(engine.volumes()).make(id, dir, image, options);
            int status;
            String devNull = "/dev/null";
            try (Fd in = io.vessel.linux.Files.open(devNull, io.vessel.linux.Files.O_RDONLY | io.vessel.linux.Files.O_CLOEXEC, 0);
                 Fd sink = io.vessel.linux.Files.open(devNull, io.vessel.linux.Files.O_WRONLY | io.vessel.linux.Files.O_CLOEXEC, 0)) {
                int o = request.quiet() ? sink.num() : out.stdoutFd();
                int e = request.quiet() ? sink.num() : out.stderrFd();
                Container.Created created = Container.create(engine.config().runtimeRoot(), id, made.bundle(),
                        new Container.CreateOptions(null, null, false, 0, in.num(), o, e, true, false, false));
                container = created.container();
                container.start();
                status = Container.waitForLauncher(created.launcher(), container.state().pid(),
                        container.state().pidStartTime());
                container.delete(true);
                container = null;
            } catch (RuntimeError | ErrnoException e) {
                throw new BuildException(dockerfile.fileName(), line, "RUN: " + e.getMessage(), e);
            }
            if (status != 0) {
                throw new BuildException(dockerfile.fileName(), line, "RUN " + String.join(" ", argv)
                        + " returned a non-zero code: " + status, null);
            }
            snapshot.unmount();
            return store.commitLayer(snapshot.upper(), w.image == null ? null : w.image.topChainId());
        } finally {
            if (container != null) {
                try {
                    container.delete(true);
                } catch (RuntimeError ignored) {
                    // already gone; the error being thrown is the one to report
                }
            }
            cleanup(snapshot, dir);
        }
    }

    private List<Path> lowers(Work w, Path dir) throws IOException {
        if (w.image == null || w.image.topChainId() == null) {
            Path empty = dir.resolve("empty");
            Files.createDirectories(empty);
            return List.of(empty);
        }
        if (!w.unpacked) {
            store.unpack(w.image);
            w.unpacked = true;
        }
        return store.layerStore().lowerDirs(w.image.topChainId());
    }

    private void cleanup(Snapshot snapshot, Path dir) throws IOException {
        if (snapshot != null) {
            try {
                snapshot.unmount();
            } catch (IOException ignored) {
                // the overlay is detached below if still there
            }
        }
        for (String m : List.of("rootfs", "src")) {
            Mount.detachAll(dir.resolve(m).toString());
        }
        FileTrees.remove(dir);
    }

    // ---- COPY and ADD

    private LayerStore.Layer copy(Work w, Step st, String dest, String chown, String chmod,
                                  BuildContext.Selection selection, List<Instruction.Heredoc> heredocs,
                                  Image fromImage, List<String> sources, boolean extract, int line) throws IOException {
        String id = "build-" + randomHex();
        Path dir = workRoot.resolve(id);
        Path rootfs = dir.resolve("rootfs");
        Snapshot snapshot = null;
        Snapshot source = null;
        try {
            Files.createDirectories(rootfs);
            snapshot = Snapshot.prepare(dir, lowers(w, dir));
            snapshot.mount(rootfs, false);
            Integer mode = chmod == null ? null : parseMode(chmod, line);
            long uid = 0;
            long gid = 0;
            if (chown != null) {
                long[] ids = chownIds(rootfs, chown, line);
                uid = ids[0];
                gid = ids[1];
            }
            String target = PathNames.resolve(st.workdir(), dest);
            boolean toDir = dest.endsWith("/") || dest.endsWith("/.") || dest.equals(".");
            List<BuildContext.Item> items = new ArrayList<>();
            if (fromImage != null) {
                Path src = dir.resolve("src");
                Files.createDirectories(src);
                Work sw = new Work();
                sw.image = fromImage;
                source = Snapshot.prepare(dir.resolve("from"), lowers(sw, dir.resolve("from")));
                source.mount(src, true);
                BuildContext sc = BuildContext.open(src, DockerIgnore.none());
                BuildContext.Selection sel = sc.resolve(sources);
                sel.checkDestination(dest);
                items.addAll(sel.items());
                toDir |= sel.matched() > 1;
            } else if (selection != null) {
                items.addAll(selection.items());
                toDir |= selection.matched() + heredocs.size() > 1;
            }
            Path hostTarget = RootPath.resolve(rootfs, target);
            boolean singleFile = !toDir && items.size() + heredocs.size() == 1
                    && !(items.size() == 1 && items.getFirst().kind() == BuildContext.Kind.DIRECTORY)
                    && !Files.isDirectory(hostTarget);
            for (Instruction.Heredoc h : heredocs) {
                Path to = singleFile ? hostTarget : RootPath.resolve(rootfs, target + "/" + h.name());
                makeParents(rootfs, to, uid, gid);
                Files.writeString(to, h.content(), StandardCharsets.UTF_8);
                finish(to, mode == null ? 0644 : mode, uid, gid);
            }
            for (BuildContext.Item item : items) {
                if (extract && item.archive() != BuildContext.Archive.NONE) {
                    extract(item, rootfs, target, line);
                    continue;
                }
                Path to = singleFile && item.kind() != BuildContext.Kind.DIRECTORY ? hostTarget
                        : item.name().isEmpty() || item.name().equals(".") ? hostTarget
                        : RootPath.resolve(rootfs, target + "/" + item.name());
                makeParents(rootfs, to, uid, gid);
                switch (item.kind()) {
                    case DIRECTORY -> {
                        if (!Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
                            Files.deleteIfExists(to);
                            Files.createDirectory(to);
                        }
                        finish(to, mode == null ? item.mode() : mode, uid, gid);
                    }
                    case FILE -> {
                        Files.copy(item.path(), to, StandardCopyOption.REPLACE_EXISTING);
                        finish(to, mode == null ? item.mode() : mode, uid, gid);
                    }
                    case SYMLINK -> {
                        Files.deleteIfExists(to);
                        Files.createSymbolicLink(to, Path.of(item.target()));
                        lchown(to, uid, gid);
                    }
                }
            }
            if (source != null) {
                source.unmount();
            }
            snapshot.unmount();
            return store.commitLayer(snapshot.upper(), w.image == null ? null : w.image.topChainId());
        } catch (BuildException | DockerfileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new BuildException(dockerfile.fileName(), line, (extract ? "ADD" : "COPY") + ": " + e.getMessage(), e);
        } finally {
            if (source != null) {
                try {
                    source.unmount();
                } catch (IOException | RuntimeException ignored) {
                    // cleanup detaches it
                }
            }
            cleanup(snapshot, dir);
        }
    }

    private void extract(BuildContext.Item item, Path rootfs, String target, int line) throws IOException {
        if (item.archive() == BuildContext.Archive.BZIP2 || item.archive() == BuildContext.Archive.XZ) {
            throw new BuildException(dockerfile.fileName(), line, "ADD " + item.name() + ": " + item.archive()
                    + "-compressed archives cannot be extracted (tar, gzip and zstd can)", null);
        }
        Path to = RootPath.resolve(rootfs, target);
        Files.createDirectories(to);
        try (InputStream in = Files.newInputStream(item.path())) {
            LayerApplier.apply(in, to, LayerApplier.Options.copy(false)); // files, as docker ADD unpacks: no whiteouts
        }
    }

    private static void makeParents(Path rootfs, Path to, long uid, long gid) throws IOException {
        Path parent = to.getParent();
        List<Path> made = new ArrayList<>();
        while (parent != null && parent.startsWith(rootfs) && !Files.exists(parent, LinkOption.NOFOLLOW_LINKS)) {
            made.addFirst(parent);
            parent = parent.getParent();
        }
        for (Path p : made) {
            Files.createDirectory(p);
            finish(p, 0755, uid, gid);
        }
    }

    private static void finish(Path p, int mode, long uid, long gid) throws IOException {
        lchown(p, uid, gid);
        Set<PosixFilePermission> perms = java.nio.file.attribute.PosixFilePermissions.fromString(rwx(mode));
        Files.setPosixFilePermissions(p, perms);
        if ((mode & 07000) != 0) {
            Files.setAttribute(p, "unix:mode", mode & 07777);
        }
    }

    private static void lchown(Path p, long uid, long gid) throws IOException {
        Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
    }

    private static String rwx(int mode) {
        StringBuilder b = new StringBuilder();
        for (int shift = 6; shift >= 0; shift -= 3) {
            int m = (mode >> shift) & 7;
            b.append((m & 4) != 0 ? 'r' : '-').append((m & 2) != 0 ? 'w' : '-').append((m & 1) != 0 ? 'x' : '-');
        }
        return b.toString();
    }

    private int parseMode(String chmod, int line) {
        if (!chmod.matches("[0-7]{1,4}")) {
            throw new DockerfileException(dockerfile.fileName(), line, "--chmod=" + chmod
                    + " is not an octal mode (e.g. 755 or 0644)");
        }
        return Integer.parseInt(chmod, 8);
    }

    /** {@code --chown=user[:group]}: names from the image's /etc/passwd and /etc/group; no group means gid = uid. */
    private long[] chownIds(Path rootfs, String chown, int line) throws IOException {
        int colon = chown.indexOf(':');
        try {
            if (colon < 0) {
                long uid = ExecUser.resolve(rootfs, chown, List.of()).uid();
                return new long[] {uid, uid};
            }
            String user = chown.substring(0, colon);
            String group = chown.substring(colon + 1);
            long uid = ExecUser.resolve(rootfs, user, List.of()).uid();
            long gid = ExecUser.resolve(rootfs, "0:" + group, List.of()).gid();
            return new long[] {uid, gid};
        } catch (IllegalArgumentException e) {
            throw new BuildException(dockerfile.fileName(), line, "--chown=" + chown + ": " + e.getMessage(), e);
        }
    }

    private static Digest withHeredocs(Digest selection, List<Instruction.Heredoc> heredocs) {
        if (heredocs.isEmpty()) {
            return selection;
        }
        StringBuilder b = new StringBuilder(selection.toString()).append('\n');
        for (Instruction.Heredoc h : heredocs) {
            b.append(io.vessel.json.Json.write(h.name())).append(' ').append(io.vessel.json.Json.write(h.content())).append('\n');
        }
        return Digest.of(b.toString().getBytes(StandardCharsets.UTF_8));
    }

    // ---- helpers

    static String shortId(Digest id) {
        return id.hex().substring(0, 12);
    }

    private static String randomHex() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static ImageConfig withConfig(ImageConfig c, ImageConfig.Config config) {
        return new ImageConfig(c.created(), c.author(), c.architecture(), c.os(), c.variant(), config, c.rootfs(),
                c.history());
    }

    static ConfigBuilder cfg(ImageConfig.Config c) {
        return new ConfigBuilder(c);
    }

    /** A changed copy of an {@link ImageConfig.Config}. */
    static final class ConfigBuilder {
        private String user;
        private List<String> env;
        private List<String> entrypoint;
        private List<String> cmd;
        private String workingDir;
        private Set<String> exposedPorts;
        private Set<String> volumes;
        private Map<String, String> labels;
        private String stopSignal;
        private List<String> shell;
        private ImageConfig.Healthcheck healthcheck;
        private List<String> onBuild;

        ConfigBuilder(ImageConfig.Config c) {
            user = c.user();
            env = c.env();
            entrypoint = c.entrypoint();
            cmd = c.cmd();
            workingDir = c.workingDir();
            exposedPorts = c.exposedPorts();
            volumes = c.volumes();
            labels = c.labels();
            stopSignal = c.stopSignal();
            shell = c.shell();
            healthcheck = c.healthcheck();
            onBuild = c.onBuild();
        }

        ConfigBuilder user(String v) { user = v; return this; }
        ConfigBuilder env(List<String> v) { env = v; return this; }
        ConfigBuilder entrypoint(List<String> v) { entrypoint = v; return this; }
        ConfigBuilder cmd(List<String> v) { cmd = v; return this; }
        ConfigBuilder workingDir(String v) { workingDir = v; return this; }
        ConfigBuilder exposedPorts(Set<String> v) { exposedPorts = v; return this; }
        ConfigBuilder volumes(Set<String> v) { volumes = v; return this; }
        ConfigBuilder labels(Map<String, String> v) { labels = v; return this; }
        ConfigBuilder stopSignal(String v) { stopSignal = v; return this; }
        ConfigBuilder shell(List<String> v) { shell = v; return this; }
        ConfigBuilder healthcheck(ImageConfig.Healthcheck v) { healthcheck = v; return this; }
        ConfigBuilder onBuild(List<String> v) { onBuild = v; return this; }

        ImageConfig.Config build() {
            return new ImageConfig.Config(user, env, entrypoint, cmd, workingDir, exposedPorts, volumes, labels,
                    stopSignal, shell, healthcheck, onBuild);
        }
    }

    /** Tags {@code image} with each of the request's tags; returns them as printed. */
    public List<String> tag(Image image) throws IOException {
        List<String> done = new ArrayList<>();
        for (String t : request.tags()) {
            Reference ref = Reference.parse(t);
            if (ref.digest() != null) {
                throw new IllegalArgumentException("invalid tag \"" + t + "\": a tag cannot contain a digest");
            }
            store.tag(ref, image.manifestDescriptor());
            done.add(ref.familiar());
        }
        return done;
    }
}
