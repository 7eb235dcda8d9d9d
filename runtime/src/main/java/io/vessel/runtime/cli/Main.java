package io.vessel.runtime.cli;

import io.vessel.json.Json;
import io.vessel.json.JsonNode;
import io.vessel.linux.Signals;
import io.vessel.runtime.container.Caller;
import io.vessel.runtime.container.Container;
import io.vessel.runtime.container.RuntimeError;
import io.vessel.runtime.container.Status;
import io.vessel.runtime.spec.Resources;
import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code vessel-runtime}: the OCI runtime's command line, compatible with runc's so that podman,
 * containerd and CRI-O can call it. Each command loads the container, calls one method, reports.
 */
public final class Main {
    static final String VERSION = "0.1.0";
    static final String SPEC_VERSION = "1.2.0";
    private static final String DEFAULT_ROOT = "/run/vessel-runtime";

    private final Caller caller;
    private final PrintStream out;
    private Path root = Path.of(DEFAULT_ROOT);
    private Path log;
    private boolean jsonLog;
    private boolean debug;

    /** A command run for {@code caller}: its paths, stdio, launchers and signals (see {@link Caller}). */
    public Main(Caller caller) {
        this.caller = caller;
        this.out = caller.out();
    }

    public static void main(String[] argv) {
        Main m = new Main(Caller.process());
        int code = m.run(Arrays.asList(argv));
        m.out.flush();
        System.err.flush();
        // halt, not exit: there are no shutdown hooks to run, and exit() would load the JDK's
        // logging framework just to log the exit (a tenth of our start-up time).
        Runtime.getRuntime().halt(code);
    }

    /** Runs one invocation; returns the process exit status. */
    public int run(List<String> argv) {
        io.vessel.runtime.container.Trace.mark("main");
        int i = 0;
        try {
            // global options
            while (i < argv.size() && argv.get(i).startsWith("-")) {
                String a = argv.get(i);
                String name = Args.stripDashes(a);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                switch (name) {
                    case "version", "v" -> {
                        out.println("vessel-runtime version " + VERSION + "\nspec: " + SPEC_VERSION);
                        return 0;
                    }
                    case "help", "h" -> {
                        out.print(USAGE);
                        return 0;
                    }
                    case "debug" -> debug = true;
                    case "systemd-cgroup" -> { /* accepted: cgroupfs does what is needed */ }
                    case "root", "log", "log-format", "criu", "rootless" -> {
                        if (value == null) {
                            if (++i >= argv.size()) {
                                throw new Args.UsageError("option --" + name + " needs a value");
                            }
                            value = argv.get(i);
                        }
                        switch (name) {
                            case "root" -> root = caller.resolve(value);
                            case "log" -> log = caller.resolve(value);
                            case "log-format" -> {
                                if (!value.equals("json") && !value.equals("text")) {
                                    throw new Args.UsageError("--log-format must be text or json, not \"" + value + "\"");
                                }
                                jsonLog = value.equals("json");
                            }
                            default -> { /* --criu, --rootless: accepted, not used */ }
                        }
                    }
                    default -> throw new Args.UsageError("unknown global option " + a);
                }
                i++;
            }
            if (i >= argv.size()) {
                out.print(USAGE);
                return 0;
            }
            String cmd = argv.get(i);
            List<String> rest = argv.subList(i + 1, argv.size());
            return dispatch(cmd, rest);
        } catch (Args.UsageError e) {
            return report(e.getMessage(), 2);
        } catch (RuntimeError e) {
            if (debug && e.getCause() != null) {
                e.getCause().printStackTrace(caller.err());
            }
            return report(e.getMessage(), 1);
        } catch (IllegalArgumentException e) {
            return report(e.getMessage(), 1);
        }
    }

    private int report(String message, int code) {
        caller.err().println("vessel-runtime: " + message);
        if (log != null) {
            String line = jsonLog
                    ? Json.write(Map.of("level", "error", "msg", message, "time", Instant.now().toString()))
                    : "time=\"" + Instant.now() + "\" level=error msg=\"" + message.replace("\"", "\\\"") + "\"";
            try {
                Files.writeString(log, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException ignored) {
                // the error is on stderr already
            }
        }
        return code;
    }

    private static final Map<String, String> NO_ALIASES = Map.of();

    private int dispatch(String cmd, List<String> rest) throws Args.UsageError, RuntimeError {
        return switch (cmd) {
            case "create" -> create(rest, false);
            case "run" -> create(rest, true);
            case "start" -> {
                Args a = Args.parse(cmd, rest, Set.of(), Set.of(), Set.of(), NO_ALIASES);
                Container.load(root, a.positional(cmd, 0, "container id"), caller).start();
                yield 0;
            }
            case "state" -> {
                Args a = Args.parse(cmd, rest, Set.of(), Set.of(), Set.of(), NO_ALIASES);
                out.println(Json.writePretty(Container.load(root, a.positional(cmd, 0, "container id"), caller).ociState()).trim());
                yield 0;
            }
            case "kill" -> {
                Args a = Args.parse(cmd, rest, Set.of("all"), Set.of(), Set.of(), Map.of("a", "all"));
                Container c = Container.load(root, a.positional(cmd, 0, "container id"), caller);
                int sig = Signals.parse(a.positional.size() > 1 ? a.positional.get(1) : "TERM");
                c.kill(sig, a.flag("all"));
                yield 0;
            }
            case "delete" -> {
                Args a = Args.parse(cmd, rest, Set.of("force"), Set.of(), Set.of(), Map.of("f", "force"));
                String id = a.positional(cmd, 0, "container id");
                Container c;
                try {
                    c = Container.load(root, id, caller);
                } catch (RuntimeError e) {
                    if (a.flag("force") && !Files.exists(root.resolve(id))) {
                        yield 0; // runc: delete --force of a missing container is not an error
                    }
                    if (a.flag("force")) {
                        Container.deleteDamaged(root, id); // a state that cannot be read must not stay forever
                        yield 0;
                    }
                    throw e;
                }
                c.delete(a.flag("force"));
                yield 0;
            }
            case "exec" -> exec(rest);
            case "ps" -> ps(rest);
            case "list" -> list(rest);
            case "pause" -> {
                Args a = Args.parse(cmd, rest, Set.of(), Set.of(), Set.of(), NO_ALIASES);
                Container.load(root, a.positional(cmd, 0, "container id"), caller).pause();
                yield 0;
            }
            case "resume" -> {
                Args a = Args.parse(cmd, rest, Set.of(), Set.of(), Set.of(), NO_ALIASES);
                Container.load(root, a.positional(cmd, 0, "container id"), caller).resume();
                yield 0;
            }
            case "events" -> events(rest);
            case "update" -> update(rest);
            case "spec" -> spec(rest);
            case "features" -> {
                out.println(Json.writePretty(Features.features()).trim());
                yield 0;
            }
            case "checkpoint", "restore" -> throw new RuntimeError(cmd + " is not supported by vessel-runtime");
            case "help" -> {
                out.print(USAGE);
                yield 0;
            }
            default -> throw new Args.UsageError("unknown command \"" + cmd + "\" (see vessel-runtime --help)");
        };
    }

    private int create(List<String> rest, boolean run) throws Args.UsageError, RuntimeError {
        String cmd = run ? "run" : "create";
        Args a = Args.parse(cmd, rest, Set.of("no-pivot", "no-new-keyring", "detach", "keep", "no-subreaper"),
                Set.of("bundle", "pid-file", "console-socket", "preserve-fds"), Set.of(),
                Map.of("b", "bundle", "d", "detach"));
        String id = a.positional(cmd, 0, "container id");
        Path bundle = caller.resolve(a.value("bundle") == null ? "." : a.value("bundle"));
        boolean detach = a.flag("detach");
        boolean foreground = run && !detach;
        Container.CreateOptions o = new Container.CreateOptions(
                a.value("pid-file") == null ? null : caller.resolve(a.value("pid-file")),
                consoleSocket(a), a.flag("no-pivot"), a.intValue("preserve-fds", 0), caller.stdin(), caller.stdout(),
                caller.stderr(), foreground,
                a.flag("no-new-keyring"), foreground);
        Container.Created created = Container.create(root, id, bundle, o, caller);
        if (!run) {
            return 0;
        }
        Container c = created.container();
        io.vessel.runtime.container.TerminalRelay terminal = created.terminal();
        try {
            try {
                c.start();
                if (terminal != null) {
                    terminal.start();
                }
            } catch (RuntimeError e) {
                c.delete(true);
                throw e;
            }
            if (detach) {
                return 0;
            }
            int status = Container.waitForLauncher(created.launcher(), c.state().pid(), c.state().pidStartTime(),
                    caller.signals());
            io.vessel.runtime.container.Trace.mark("container exited");
            if (terminal != null) {
                terminal.close(); // the last output, and the user's terminal as it was
                terminal = null;
            }
            if (!a.flag("keep")) {
                c.delete(true);
            }
            return status;
        } finally {
            if (terminal != null) {
                terminal.close();
            }
        }
    }

    /** --console-socket as an absolute path: the launcher connects to it from wherever it runs. */
    private String consoleSocket(Args a) {
        return a.value("console-socket") == null ? null : caller.resolve(a.value("console-socket")).toString();
    }

    private int exec(List<String> rest) throws Args.UsageError, RuntimeError {
        Args a = Args.parse("exec", rest, Set.of("tty", "detach", "no-new-privs", "ignore-paused"),
                Set.of("process", "pid-file", "console-socket", "cwd", "user", "preserve-fds", "apparmor",
                        "process-label", "cgroup"),
                Set.of("env", "cap", "additional-gids"),
                Map.of("t", "tty", "d", "detach", "p", "process", "e", "env", "u", "user", "c", "cap", "g",
                        "additional-gids"));
        Container c = Container.load(root, a.positional("exec", 0, "container id"), caller);
        Spec.Process proc;
        if (a.value("process") != null) {
            try {
                proc = Spec.Process.from(JsonNode.parse("process.json", Files.readString(caller.resolve(a.value("process")))));
            } catch (IOException e) {
                throw new RuntimeError("cannot read --process " + a.value("process") + ": " + e.getMessage());
            }
        } else {
            List<String> args = a.positional.subList(1, a.positional.size());
            if (args.isEmpty()) {
                throw new Args.UsageError("exec: give a command or --process");
            }
            proc = ExecProcess.fromFlags(c.spec().process(), args, a.flag("tty"), a.value("cwd"), a.all("env"),
                    a.value("user"), a.all("additional-gids"), a.all("cap"), a.flag("no-new-privs"));
        }
        return c.exec(proc, new Container.ExecOptions(a.value("pid-file") == null ? null : caller.resolve(a.value("pid-file")),
                consoleSocket(a), a.flag("detach"), a.intValue("preserve-fds", 0), caller.stdin(), caller.stdout(),
                caller.stderr()));
    }

    private int ps(List<String> rest) throws Args.UsageError, RuntimeError {
        Args a = Args.parse("ps", rest, Set.of(), Set.of("format"), Set.of(), Map.of("f", "format"));
        Container c = Container.load(root, a.positional("ps", 0, "container id"), caller);
        List<Integer> pids = c.pids();
        if ("json".equals(a.value("format"))) {
            out.println(Json.write(pids));
            return 0;
        }
        List<String> psArgs = new ArrayList<>(List.of("ps"));
        psArgs.addAll(a.positional.size() > 1 ? a.positional.subList(1, a.positional.size()) : List.of("-ef"));
        try {
            ProcessBuilder pb = new ProcessBuilder(psArgs).redirectErrorStream(true).directory(caller.cwd().toFile());
            pb.environment().clear();
            pb.environment().putAll(caller.env());
            Process p = pb.start();
            List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            p.waitFor();
            if (lines.isEmpty()) {
                return 0;
            }
            int pidCol = Arrays.asList(lines.getFirst().trim().split("\\s+")).indexOf("PID");
            if (pidCol < 0) {
                throw new RuntimeError("ps output has no PID column");
            }
            out.println(lines.getFirst());
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length > pidCol && pids.contains(Integer.parseInt(f[pidCol]))) {
                    out.println(line);
                }
            }
            return 0;
        } catch (IOException e) {
            throw new RuntimeError("cannot run ps: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private int list(List<String> rest) throws Args.UsageError {
        Args a = Args.parse("list", rest, Set.of("quiet"), Set.of("format"), Set.of(), Map.of("q", "quiet", "f", "format"));
        List<Container> all = Container.list(root, caller);
        if (a.flag("quiet")) {
            all.forEach(c -> out.println(c.id()));
            return 0;
        }
        if ("json".equals(a.value("format"))) {
            List<Object> items = new ArrayList<>();
            for (Container c : all) {
                Map<String, Object> m = new LinkedHashMap<>(c.ociState());
                items.add(m);
            }
            out.println(Json.write(items));
            return 0;
        }
        out.printf("%-24s %-8s %-10s %-40s %-30s %s%n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
        for (Container c : all) {
            Status s = c.status();
            out.printf("%-24s %-8d %-10s %-40s %-30s %s%n", c.id(), s == Status.STOPPED ? 0 : c.state().pid(),
                    s.wireName(), c.state().bundle(), c.state().created(), "root");
        }
        return 0;
    }

    private int events(List<String> rest) throws Args.UsageError, RuntimeError {
        Args a = Args.parse("events", rest, Set.of("stats"), Set.of("interval"), Set.of(), NO_ALIASES);
        Container c = Container.load(root, a.positional("events", 0, "container id"), caller);
        if (a.flag("stats")) {
            out.println(Json.write(c.stats()));
            return 0;
        }
        long interval = parseDuration(a.value("interval") == null ? "5s" : a.value("interval"));
        while (c.status() != Status.STOPPED) {
            out.println(Json.write(c.stats()));
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return 0;
    }

    static long parseDuration(String s) throws Args.UsageError {
        try {
            if (s.endsWith("ms")) {
                return Long.parseLong(s.substring(0, s.length() - 2));
            }
            if (s.endsWith("s")) {
                return (long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 1000);
            }
            if (s.endsWith("m")) {
                return (long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 60_000);
            }
            return Long.parseLong(s) * 1000;
        } catch (NumberFormatException e) {
            throw new Args.UsageError("--interval must be a duration like 5s, not \"" + s + "\"");
        }
    }

    private int update(List<String> rest) throws Args.UsageError, RuntimeError {
        Args a = Args.parse("update", rest, Set.of(),
                Set.of("resources", "memory", "memory-reservation", "memory-swap", "cpu-shares", "cpu-quota",
                        "cpu-period", "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight", "kernel-memory",
                        "kernel-memory-tcp", "cpu-rt-period", "cpu-rt-runtime", "l3-cache-schema", "mem-bw-schema"),
                Set.of(), Map.of("r", "resources"));
        Container c = Container.load(root, a.positional("update", 0, "container id"), caller);
        Resources r;
        if (a.value("resources") != null) {
            String text;
            try {
                text = a.value("resources").equals("-") ? new String(caller.in().readAllBytes(), StandardCharsets.UTF_8)
                        : Files.readString(caller.resolve(a.value("resources")));
            } catch (IOException e) {
                throw new RuntimeError("cannot read --resources: " + e.getMessage());
            }
            r = Resources.from(JsonNode.parse("resources", text));
        } else {
            r = UpdateFlags.resources(a);
        }
        c.update(r);
        return 0;
    }

    private int spec(List<String> rest) throws Args.UsageError, RuntimeError {
        Args a = Args.parse("spec", rest, Set.of("rootless"), Set.of("bundle"), Set.of(), Map.of("b", "bundle"));
        Path dir = caller.resolve(a.value("bundle") == null ? "." : a.value("bundle"));
        Path config = dir.resolve("config.json");
        if (Files.exists(config)) {
            throw new RuntimeError("File " + config + " exists. Remove it first");
        }
        try {
            Files.writeString(config, Json.writePretty(DefaultSpec.create(a.flag("rootless"))));
        } catch (IOException e) {
            throw new RuntimeError("cannot write " + config + ": " + e.getMessage());
        }
        return 0;
    }

    private static final String USAGE = """
            vessel-runtime: an OCI container runtime (runc-compatible command line)

            usage: vessel-runtime [global options] command [options] [arguments]

            global options:
              --root DIR            where container state lives (default /run/vessel-runtime)
              --log FILE            append errors to FILE      --log-format text|json
              --debug               more detail on errors      --systemd-cgroup  accepted (cgroupfs is used)
              --version, --help

            commands:
              create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID
              start ID              run ID (create + start + wait)      state ID
              kill [--all] ID [SIGNAL]                  delete [--force] ID
              exec [--process F | [-t] [--cwd D] [-e K=V] [-u UID[:GID]] ID CMD...] [--detach] [--pid-file F]
              ps [--format table|json] ID [ps options] list [-q] [--format json]
              pause ID              resume ID            events [--stats] [--interval 5s] ID
              update [--resources FILE|-] [--memory N] [--cpu-quota N] [--pids-limit N] ... ID
              spec [--bundle DIR] [--rootless]          features
            """;
}
