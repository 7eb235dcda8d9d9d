package io.vessel.engine.build;

import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One Dockerfile instruction, as parsed: words are kept as written (quotes and {@code $VAR}
 * included) because their expansion depends on the ARG and ENV values in effect where the
 * instruction runs, which only the build knows. {@link #expand} gives the instruction with its
 * words expanded, for the instructions where Docker expands variables.
 *
 * <p>Every instruction carries its 1-based starting line and its original text (continuations
 * joined), for error messages and the image history.
 */
public sealed interface Instruction {
    /** The 1-based line where the instruction starts. */
    int line();

    /** The instruction as written, continuation lines joined. */
    String text();

    /** The keyword in upper case, e.g. {@code COPY}. */
    default String keyword() {
        return getClass().getSimpleName().toUpperCase(java.util.Locale.ROOT);
    }

    /**
     * This instruction with its words expanded by {@code word} (see {@link Expander#word}); the
     * same instruction for those Docker leaves to the shell (RUN, CMD, ENTRYPOINT, SHELL,
     * HEALTHCHECK, ONBUILD, MAINTAINER).
     */
    default Instruction expand(UnaryOperator<String> word) {
        return this;
    }

    /**
     * The instruction's meaning without its position or spelling: the keyword and its fields as
     * JSON. Two instructions that do the same thing have the same normalized text, whatever their
     * line, case, spacing or continuations; the cache key uses it.
     */
    default String normalized() {
        Map<String, Object> fields = new LinkedHashMap<>();
        for (RecordComponent c : getClass().getRecordComponents()) {
            if (!c.getName().equals("line") && !c.getName().equals("text")) {
                fields.put(c.getName(), plain(read(c, this)));
            }
        }
        return keyword() + " " + io.vessel.json.Json.write(fields);
    }

    private static Object read(RecordComponent c, Object target) {
        try {
            return c.getAccessor().invoke(target);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName(), e);
        }
    }

    private static Object plain(Object v) {
        if (v instanceof Record r) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (RecordComponent c : r.getClass().getRecordComponents()) {
                m.put(c.getName(), plain(read(c, r)));
            }
            return m;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) {
                out.add(plain(o));
            }
            return out;
        }
        if (v instanceof Duration d) {
            return d.toNanos();
        }
        return v;
    }

    private static List<String> all(List<String> words, UnaryOperator<String> word) {
        List<String> out = new ArrayList<>(words.size());
        for (String w : words) {
            out.add(word.apply(w));
        }
        return List.copyOf(out);
    }

    private static String opt(String w, UnaryOperator<String> word) {
        return w == null ? null : word.apply(w);
    }

    /**
     * A command of RUN, CMD, ENTRYPOINT or HEALTHCHECK: exec form (the argument vector, from a
     * JSON array) or shell form (one string, run by the stage's SHELL).
     */
    record Command(List<String> args, boolean shellForm) {
        public Command {
            args = List.copyOf(args);
            if (shellForm && args.size() != 1) {
                throw new IllegalArgumentException("a shell-form command is one string");
            }
        }

        public static Command shell(String line) {
            return new Command(List.of(line), true);
        }

        public static Command exec(List<String> args) {
            return new Command(args, false);
        }

        /** The argument vector to run, with the shell's words in front of a shell-form command. */
        public List<String> argv(List<String> shell) {
            if (!shellForm) {
                return args;
            }
            List<String> out = new ArrayList<>(shell);
            out.add(args.getFirst());
            return List.copyOf(out);
        }
    }

    /**
     * A here-document attached to RUN or COPY: {@code <<EOF} ... {@code EOF}. {@code content}
     * ends with a newline and has its leading tabs removed for {@code <<-EOF}; {@code expand} is
     * false when the delimiter was quoted ({@code <<"EOF"}), which turns variable expansion off.
     */
    record Heredoc(String name, String content, boolean expand) {
        public Heredoc {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(content, "content");
        }
    }

    /** A {@code key=value} of ENV or LABEL; the value may be empty. */
    record KeyValue(String key, String value) {
        public KeyValue {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
        }
    }

    /** One name of an ARG line, with its default or null when it has none. */
    record ArgDecl(String name, String defaultValue) {
        public ArgDecl {
            Objects.requireNonNull(name, "name");
        }
    }

    /** FROM image [AS name], optionally {@code --platform}. {@code name} and {@code platform} may be null. */
    record From(int line, String text, String image, String name, String platform) implements Instruction {
        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new From(line, text, word.apply(image), name, opt(platform, word));
        }
    }

    /** RUN: a command run in a container of the stage, whose changes become a layer. */
    record Run(int line, String text, Command command, List<Heredoc> heredocs) implements Instruction {
        public Run {
            heredocs = List.copyOf(heredocs);
        }
    }

    /** CMD: the image's default command (or the default arguments of its ENTRYPOINT). */
    record Cmd(int line, String text, Command command) implements Instruction {
    }

    /** ENTRYPOINT: the image's entrypoint. */
    record Entrypoint(int line, String text, Command command) implements Instruction {
    }

    /**
     * COPY sources... dest. {@code from} (a stage name or index, or an image) and {@code chown},
     * {@code chmod} are null when not given; {@code link} is accepted and has no effect here.
     */
    record Copy(int line, String text, List<String> sources, String dest, String from, String chown,
                String chmod, boolean link, List<Heredoc> heredocs) implements Instruction {
        public Copy {
            sources = List.copyOf(sources);
            heredocs = List.copyOf(heredocs);
        }

        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new Copy(line, text, all(sources, word), word.apply(dest), opt(from, word),
                    opt(chown, word), opt(chmod, word), link, heredocs);
        }
    }

    /** ADD sources... dest: COPY that also extracts local tar archives. */
    record Add(int line, String text, List<String> sources, String dest, String chown, String chmod,
               boolean link) implements Instruction {
        public Add {
            sources = List.copyOf(sources);
        }

        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new Add(line, text, all(sources, word), word.apply(dest), opt(chown, word),
                    opt(chmod, word), link);
        }
    }

    /** ENV key=value...: environment of the later instructions and of the image. */
    record Env(int line, String text, List<KeyValue> pairs) implements Instruction {
        public Env {
            pairs = List.copyOf(pairs);
        }

        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new Env(line, text, expandPairs(pairs, word));
        }
    }

    /** ARG name[=default]...: build arguments declared for the stage (or for FROM lines, before the first FROM). */
    record Arg(int line, String text, List<ArgDecl> args) implements Instruction {
        public Arg {
            args = List.copyOf(args);
        }

        @Override
        public Instruction expand(UnaryOperator<String> word) {
            List<ArgDecl> out = new ArrayList<>();
            for (ArgDecl a : args) {
                out.add(new ArgDecl(a.name(), opt(a.defaultValue(), word)));
            }
            return new Arg(line, text, out);
        }
    }

    /** WORKDIR path: the working directory of later instructions and of the image. */
    record Workdir(int line, String text, String path) implements Instruction {
        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new Workdir(line, text, word.apply(path));
        }
    }

    /** USER user[:group]. */
    record User(int line, String text, String user) implements Instruction {
        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new User(line, text, word.apply(user));
        }
    }

    /** EXPOSE port[/proto]...: a port or a range {@code 8000-8010}, tcp unless {@code /udp}. */
    record Expose(int line, String text, List<String> ports) implements Instruction {
        public Expose {
            ports = List.copyOf(ports);
        }

        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new Expose(line, text, all(ports, word));
        }
    }

    /** LABEL key=value...: image metadata. */
    record Label(int line, String text, List<KeyValue> pairs) implements Instruction {
        public Label {
            pairs = List.copyOf(pairs);
        }

        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new Label(line, text, expandPairs(pairs, word));
        }
    }

    /** VOLUME path...: mount points the image declares. */
    record Volume(int line, String text, List<String> paths) implements Instruction {
        public Volume {
            paths = List.copyOf(paths);
        }

        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new Volume(line, text, all(paths, word));
        }
    }

    /** SHELL ["exe", "args"...]: the shell of later shell-form commands. */
    record Shell(int line, String text, List<String> shell) implements Instruction {
        public Shell {
            shell = List.copyOf(shell);
        }
    }

    /** STOPSIGNAL signal: the signal that stops a container of the image. */
    record StopSignal(int line, String text, String signal) implements Instruction {
        @Override
        public Instruction expand(UnaryOperator<String> word) {
            return new StopSignal(line, text, word.apply(signal));
        }
    }

    /**
     * HEALTHCHECK: {@code test} in the image config's form ({@code ["NONE"]},
     * {@code ["CMD", args...]} or {@code ["CMD-SHELL", line]}); a duration or {@code retries} is
     * null when not given (the runtime default applies).
     */
    record Healthcheck(int line, String text, List<String> test, Duration interval, Duration timeout,
                       Duration startPeriod, Duration startInterval, Integer retries) implements Instruction {
        public Healthcheck {
            test = List.copyOf(test);
        }

        public boolean none() {
            return test.equals(List.of("NONE"));
        }
    }

    /** ONBUILD instruction: stored in the image, run by builds that use it as their base. */
    record Onbuild(int line, String text, String trigger) implements Instruction {
    }

    /** MAINTAINER name (deprecated): becomes the image's author. */
    record Maintainer(int line, String text, String name) implements Instruction {
    }

    private static List<KeyValue> expandPairs(List<KeyValue> pairs, UnaryOperator<String> word) {
        List<KeyValue> out = new ArrayList<>(pairs.size());
        for (KeyValue kv : pairs) {
            out.add(new KeyValue(word.apply(kv.key()), word.apply(kv.value())));
        }
        return out;
    }
}
