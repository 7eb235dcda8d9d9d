package io.vessel.engine.build;

import io.vessel.image.oci.Platform;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which stages a build runs and in what order, from a {@link Dockerfile} and the
 * {@link BuildOptions}: the target stage (--target, else the last), the stages it needs through
 * {@code FROM <stage>} and {@code COPY --from=<stage|index>} (the others are skipped), and each
 * stage's base (an image, an earlier stage, or scratch) with the FROM line expanded by the global
 * ARGs.
 *
 * <p>Planning walks each needed stage once with an empty base image environment (what the
 * instructions declare is known, what the base image's ENV adds is not yet), which checks every
 * expansion and resolves {@code --from}; the executor walks it again through
 * {@link #start} with the real base image.
 */
public final class BuildPlan {
    /** A stage's starting point. */
    public sealed interface Base {
        /** An image to pull or find in the store; {@code reference} as written, expanded. */
        record Image(String reference, String platform) implements Base {
        }

        /** The result of an earlier stage. */
        record Stage(int index) implements Base {
        }

        /** {@code FROM scratch}: an empty root filesystem. */
        record Scratch() implements Base {
        }
    }

    /** Where a COPY reads from. */
    public sealed interface Source {
        /** The build context. */
        record Context() implements Source {
        }

        /** The root filesystem of an earlier stage. */
        record Stage(int index) implements Source {
        }

        /** The root filesystem of an image ({@code COPY --from=busybox}). */
        record Image(String reference) implements Source {
        }
    }

    /**
     * A stage the build runs.
     *
     * @param stage     the parsed stage
     * @param base      where it starts
     * @param dependsOn the indexes of the stages it needs first (its base stage, COPY --from)
     * @param images    images it copies from ({@code COPY --from=<image>})
     */
    public record PlannedStage(Dockerfile.Stage stage, Base base, Set<Integer> dependsOn, Set<String> images) {
        public PlannedStage {
            dependsOn = Set.copyOf(dependsOn);
            images = Set.copyOf(images);
        }

        public int index() {
            return stage.index();
        }

        public String name() {
            return stage.name();
        }
    }

    private final Dockerfile dockerfile;
    private final BuildOptions options;
    private final Map<String, String> automaticArgs;
    private final Map<String, String> globalArgs = new LinkedHashMap<>();
    private final Map<String, Integer> names = new HashMap<>();
    private final Set<String> consumed = new java.util.HashSet<>();
    private final Map<Integer, PlannedStage> planned = new HashMap<>();
    private final PlannedStage target;

    private BuildPlan(Dockerfile dockerfile, BuildOptions options) {
        this.dockerfile = dockerfile;
        this.options = options;
        this.automaticArgs = automaticArgs(options.platform());
        globalScope();
        for (Dockerfile.Stage s : dockerfile.stages()) {
            String name = s.name();
            if (name != null) {
                Integer before = names.putIfAbsent(name, s.index());
                if (before != null) {
                    throw error(s.from().line(), "duplicate stage name \"" + name + "\": stage "
                            + before + " (line " + dockerfile.stages().get(before).from().line() + ") has it too");
                }
            }
        }
        int targetIndex = targetIndex();
        Deque<Integer> work = new ArrayDeque<>();
        work.add(targetIndex);
        while (!work.isEmpty()) {
            int i = work.removeFirst();
            if (planned.containsKey(i)) {
                continue;
            }
            PlannedStage p = plan(dockerfile.stages().get(i));
            planned.put(i, p);
            work.addAll(p.dependsOn());
        }
        this.target = planned.get(targetIndex);
    }

    /**
     * Plans a build.
     *
     * @throws DockerfileException for a duplicate stage name, an unknown --target, a FROM or
     *                             COPY --from naming the stage itself or a later one, or an
     *                             expansion that fails in a needed stage
     */
    public static BuildPlan of(Dockerfile dockerfile, BuildOptions options) {
        return new BuildPlan(dockerfile, options);
    }

    public Dockerfile dockerfile() {
        return dockerfile;
    }

    public BuildOptions options() {
        return options;
    }

    /** The stages to run, in an order where every stage follows the ones it needs. */
    public List<PlannedStage> stages() {
        return planned.values().stream().sorted(java.util.Comparator.comparingInt(PlannedStage::index)).toList();
    }

    /** The stage whose result is the image. */
    public PlannedStage target() {
        return target;
    }

    /** The ARGs before the first FROM and their values (null when declared without one), plus the platform args. */
    public Map<String, String> globalArgs() {
        return java.util.Collections.unmodifiableMap(globalArgs);
    }

    /**
     * The --build-args no ARG of the build declared, sorted (Docker warns about them); the proxy
     * args are never reported.
     */
    public Set<String> unusedBuildArgs() {
        Set<String> out = new TreeSet<>();
        for (String a : options.buildArgs().keySet()) {
            if (!consumed.contains(a) && !StageState.PROXY_ARGS.contains(a)) {
                out.add(a);
            }
        }
        return out;
    }

    /**
     * The state at the start of a stage, for the executor to advance with
     * {@link StageState#step}: the base image's ENV ({@code NAME=VALUE}), USER and WORKDIR
     * (either may be null or empty).
     */
    public StageState start(List<String> baseEnv, String baseUser, String baseWorkdir) {
        return new StageState(dockerfile, options, globalArgs, automaticArgs, consumed, baseEnv, baseUser,
                baseWorkdir);
    }

    /**
     * Where an expanded COPY of {@code stage} reads from.
     *
     * @throws DockerfileException when --from names the stage itself or a later one
     */
    public Source sourceOf(Dockerfile.Stage stage, Instruction.Copy copy) {
        String from = copy.from();
        if (from == null) {
            return new Source.Context();
        }
        Integer index = stageIndex(from);
        if (index == null) {
            return new Source.Image(from);
        }
        if (index >= stage.index()) {
            throw error(copy.line(), "COPY --from=" + from + " names " + (index == stage.index()
                    ? "the stage it is in" : "stage " + index + ", which comes later")
                    + ": a stage can only copy from the stages before it");
        }
        return new Source.Stage(index);
    }

    private Integer stageIndex(String ref) {
        Integer byName = names.get(ref.toLowerCase(Locale.ROOT));
        if (byName != null) {
            return byName;
        }
        if (!ref.isEmpty() && ref.chars().allMatch(c -> c >= '0' && c <= '9') && ref.length() < 10) {
            int i = Integer.parseInt(ref);
            if (i >= dockerfile.stages().size()) {
                return null;
            }
            return i;
        }
        return null;
    }

    private int targetIndex() {
        String t = options.target();
        if (t == null || t.isEmpty()) {
            return dockerfile.stages().size() - 1;
        }
        Integer i = stageIndex(t);
        if (i == null) {
            throw new DockerfileException(dockerfile.fileName(), dockerfile.stages().getLast().from().line(),
                    "target stage \"" + t + "\" is not defined (" + (names.isEmpty()
                    ? "no stage has a name; indexes 0-" + (dockerfile.stages().size() - 1)
                    : "stages: " + String.join(", ", names.keySet().stream().sorted().toList())) + ")");
        }
        return i;
    }

    private void globalScope() {
        globalArgs.putAll(automaticArgs);
        for (Instruction.Arg arg : dockerfile.globalArgs()) {
            Map<String, String> before = new HashMap<>(globalArgs);
            for (Instruction.ArgDecl d : arg.args()) {
                consumed.add(d.name());
                String value;
                if (options.buildArgs().containsKey(d.name())) {
                    value = options.buildArgs().get(d.name());
                } else if (d.defaultValue() != null) {
                    value = expandGlobal(d.defaultValue(), before, arg.line(), "ARG");
                } else {
                    value = null;
                }
                globalArgs.put(d.name(), value);
            }
        }
    }

    private PlannedStage plan(Dockerfile.Stage stage) {
        Instruction.From from = stage.from();
        String image = expandGlobal(from.image(), globalArgs, from.line(), "FROM");
        if (image.isEmpty()) {
            throw error(from.line(), "FROM " + from.image() + " is empty after expansion");
        }
        String platform = from.platform() == null ? null
                : expandGlobal(from.platform(), globalArgs, from.line(), "FROM --platform");
        Set<Integer> deps = new LinkedHashSet<>();
        Set<String> images = new LinkedHashSet<>();
        Base base;
        Integer baseStage = names.get(image.toLowerCase(Locale.ROOT));
        if (baseStage != null) {
            if (baseStage >= stage.index()) {
                throw error(from.line(), "FROM " + image + " names " + (baseStage == stage.index()
                        ? "this very stage" : "stage " + baseStage + ", which comes later")
                        + ": a stage can only start from the stages before it");
            }
            base = new Base.Stage(baseStage);
            deps.add(baseStage);
        } else if (image.equalsIgnoreCase("scratch")) {
            base = new Base.Scratch();
        } else {
            base = new Base.Image(image, platform);
        }
        StageState dry = start(List.of(), null, null);
        for (Instruction ins : stage.instructions()) {
            Step step = dry.step(ins);
            if (step.expanded() instanceof Instruction.Copy c) {
                switch (sourceOf(stage, c)) {
                    case Source.Stage s -> deps.add(s.index());
                    case Source.Image i -> images.add(i.reference());
                    case Source.Context x -> {
                    }
                }
            }
        }
        return new PlannedStage(stage, base, deps, images);
    }

    private String expandGlobal(String word, Map<String, String> scope, int line, String what) {
        try {
            return new Expander(dockerfile.escape(), scope::get).word(word);
        } catch (IllegalArgumentException e) {
            throw error(line, what + ": " + e.getMessage());
        }
    }

    private DockerfileException error(int line, String message) {
        return new DockerfileException(dockerfile.fileName(), line, message);
    }

    /** TARGETPLATFORM, TARGETOS, ... and BUILD* for a native build on {@code p}. */
    static Map<String, String> automaticArgs(Platform p) {
        Map<String, String> m = new LinkedHashMap<>();
        String variant = p.variant() == null ? "" : p.variant();
        String full = p.os() + "/" + p.architecture() + (variant.isEmpty() ? "" : "/" + variant);
        for (String prefix : List.of("TARGET", "BUILD")) {
            m.put(prefix + "PLATFORM", full);
            m.put(prefix + "OS", p.os());
            m.put(prefix + "ARCH", p.architecture());
            m.put(prefix + "VARIANT", variant);
        }
        return m;
    }
}
