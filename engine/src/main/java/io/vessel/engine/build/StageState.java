package io.vessel.engine.build;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The variables and settings in effect inside one stage, advanced instruction by instruction:
 * ENV, the ARGs the stage declared, SHELL, USER, WORKDIR. {@link #step} expands an instruction
 * with what is in effect before it and applies what it changes.
 *
 * <p>ARG rules (Docker's): a stage sees only the ARGs it declares; declaring one that was
 * declared before the first FROM without a default takes the global value; {@code --build-arg}
 * overrides any default; ENV wins over an ARG of the same name; the proxy args (HTTP_PROXY &amp;
 * co) given with --build-arg are seen without a declaration but count in the cache key only when
 * declared; TARGETPLATFORM and the other platform args take their automatic value when declared.
 */
public final class StageState {
    /** Build args a RUN sees without an ARG instruction (Docker's predefined ARGs). */
    public static final Set<String> PROXY_ARGS = Set.of("HTTP_PROXY", "http_proxy", "HTTPS_PROXY",
            "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy");
    /** The default SHELL on Linux. */
    public static final List<String> DEFAULT_SHELL = List.of("/bin/sh", "-c");

    private static final Pattern PORT = Pattern.compile("([0-9]{1,5})(?:-([0-9]{1,5}))?(?:/(tcp|udp|sctp))?",
            Pattern.CASE_INSENSITIVE);

    private final String fileName;
    private final char escape;
    private final BuildOptions options;
    private final Map<String, String> globalArgs;
    private final Map<String, String> automaticArgs;
    private final Set<String> consumed;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final Map<String, String> args = new LinkedHashMap<>(); // declared; null = no value
    private List<String> shell = DEFAULT_SHELL;
    private String user;
    private String workdir;

    StageState(Dockerfile dockerfile, BuildOptions options, Map<String, String> globalArgs,
               Map<String, String> automaticArgs, Set<String> consumed, List<String> baseEnv,
               String baseUser, String baseWorkdir) {
        this.fileName = dockerfile.fileName();
        this.escape = dockerfile.escape();
        this.options = options;
        this.globalArgs = globalArgs;
        this.automaticArgs = automaticArgs;
        this.consumed = consumed;
        for (String e : baseEnv) {
            int eq = e.indexOf('=');
            env.put(eq < 0 ? e : e.substring(0, eq), eq < 0 ? "" : e.substring(eq + 1));
        }
        this.user = baseUser == null ? "" : baseUser;
        this.workdir = baseWorkdir == null || baseWorkdir.isEmpty() ? "/" : PathNames.resolve("/", baseWorkdir);
    }

    /**
     * Expands {@code instruction} with the state before it, applies its effect, and returns the
     * step with the state it runs in.
     *
     * @throws DockerfileException when expansion fails or an expanded value is invalid (an EXPOSE
     *                             that is not a port, an empty USER or WORKDIR, an ENV without name)
     */
    public Step step(Instruction instruction) {
        Map<String, String> runArgs = new LinkedHashMap<>();
        Map<String, String> cacheArgs = new LinkedHashMap<>();
        for (Map.Entry<String, String> a : args.entrySet()) {
            if (a.getValue() != null && !env.containsKey(a.getKey())) {
                runArgs.put(a.getKey(), a.getValue());
                cacheArgs.put(a.getKey(), a.getValue());
            }
        }
        for (String p : PROXY_ARGS.stream().sorted().toList()) {
            if (options.buildArgs().containsKey(p) && !runArgs.containsKey(p) && !env.containsKey(p)
                    && !args.containsKey(p)) {
                runArgs.put(p, options.buildArgs().get(p));
            }
        }
        Step step;
        int line = instruction.line();
        Instruction expanded = instruction.expand(w -> expand(w, line, instruction.keyword()));
        step = new Step(instruction, expanded, env, runArgs, cacheArgs, shell, user, workdir);
        apply(expanded);
        if (expanded instanceof Instruction.Workdir w) {
            expanded = new Instruction.Workdir(w.line(), w.text(), workdir);
            step = new Step(instruction, expanded, step.env(), runArgs, cacheArgs, step.shell(), step.user(),
                    step.workdir());
        }
        return step;
    }

    private void apply(Instruction ins) {
        switch (ins) {
            case Instruction.Env e -> {
                for (Instruction.KeyValue kv : e.pairs()) {
                    if (kv.key().isEmpty()) {
                        throw error(e.line(), "ENV name is empty after expansion");
                    }
                    env.put(kv.key(), kv.value()); // a redefined variable keeps its place, as in Docker's config
                }
            }
            case Instruction.Arg a -> {
                for (Instruction.ArgDecl d : a.args()) {
                    declare(d);
                }
            }
            case Instruction.Workdir w -> {
                if (w.path().isEmpty()) {
                    throw error(w.line(), "WORKDIR is empty after expansion");
                }
                workdir = PathNames.resolve(workdir, w.path());
            }
            case Instruction.User u -> {
                if (u.user().isEmpty()) {
                    throw error(u.line(), "USER is empty after expansion");
                }
                user = u.user();
            }
            case Instruction.Shell s -> shell = s.shell();
            case Instruction.Expose x -> {
                for (String p : x.ports()) {
                    checkPort(x.line(), p);
                }
            }
            default -> {
            }
        }
    }

    private void declare(Instruction.ArgDecl d) {
        String name = d.name();
        consumed.add(name);
        String value;
        if (options.buildArgs().containsKey(name)) {
            value = options.buildArgs().get(name);
        } else if (d.defaultValue() != null) {
            value = d.defaultValue();
        } else if (globalArgs.containsKey(name)) {
            value = globalArgs.get(name);
        } else {
            value = automaticArgs.get(name);
        }
        args.put(name, value);
    }

    private void checkPort(int line, String spec) {
        var m = PORT.matcher(spec);
        if (!m.matches()) {
            throw error(line, "EXPOSE \"" + spec + "\" is not PORT[/PROTO] or FROM-TO[/PROTO] (PROTO: tcp, udp, sctp)");
        }
        int from = Integer.parseInt(m.group(1));
        int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
        if (from > 65535 || to > 65535 || to < from) {
            throw error(line, "EXPOSE \"" + spec + "\" is not a valid port or range (0-65535, low-high)");
        }
    }

    private String expand(String word, int line, String keyword) {
        try {
            return new Expander(escape, this::lookup).word(word);
        } catch (IllegalArgumentException e) {
            throw error(line, keyword + ": " + e.getMessage());
        }
    }

    /** A variable's value for expansion: ENV, then declared ARGs, then proxy build args. */
    String lookup(String name) {
        if (env.containsKey(name)) {
            return env.get(name);
        }
        if (args.containsKey(name)) {
            return args.get(name);
        }
        if (PROXY_ARGS.contains(name)) {
            return options.buildArgs().get(name);
        }
        return null;
    }

    private DockerfileException error(int line, String message) {
        return new DockerfileException(fileName, line, message);
    }

    /** ENV now, in image config form ({@code NAME=VALUE}, in order of definition). */
    public List<String> env() {
        List<String> out = new ArrayList<>(env.size());
        env.forEach((k, v) -> out.add(k + "=" + v));
        return out;
    }

    /** The ARGs the stage has declared so far and their values (null when none). */
    public Map<String, String> args() {
        return java.util.Collections.unmodifiableMap(new HashMap<>(args));
    }

    public List<String> shell() {
        return shell;
    }

    /** USER now; empty when neither the base image nor the stage set one. */
    public String user() {
        return user;
    }

    /** WORKDIR now, absolute. */
    public String workdir() {
        return workdir;
    }
}
