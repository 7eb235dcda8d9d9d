package io.vessel.runtime.container;

import io.vessel.json.Json;
import io.vessel.linux.Signals;
import io.vessel.runtime.cgroup.ControlGroup;
import io.vessel.runtime.process.InitPlan;
import io.vessel.runtime.process.Launcher;
import io.vessel.runtime.process.LauncherStarter;
import io.vessel.runtime.process.Plan;
import io.vessel.runtime.process.Signaller;
import io.vessel.runtime.spec.Resources;
import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One OCI container under a runtime root: create, start, kill, delete, exec, pause, resume.
 * Its status is read from the live process every time it is needed.
 */
public final class Container {
    private static final String STATE = "state.json";
    private static final String CONFIG = "config.json";

    private final Path dir;
    private final ContainerState state;
    private final Caller caller; // whose cwd, stdio and signals the operations use
    private Spec spec; // parsed on first use, or kept from create
    private ControlGroup cgroup; // loaded on first use

    private Container(Path dir, ContainerState state, Spec spec, Caller caller) {
        this.dir = dir;
        this.state = state;
        this.spec = spec;
        this.caller = caller;
    }

    public ContainerState state() {
        return state;
    }

    public String id() {
        return state.id();
    }

    /** Options of create (and run). */
    public record CreateOptions(
            Path pidFile,
            String consoleSocket,
            boolean noPivot,
            int preserveFds,
            int stdin,
            int stdout,
            int stderr,
            boolean foreground,
            boolean noNewKeyring,
            boolean ownTerminal) { // run: without a console socket, relay the terminal ourselves
        public static CreateOptions defaults() {
            return new CreateOptions(null, null, false, 0, 0, 1, 2, false, false, false);
        }

        CreateOptions withConsoleSocket(String path) {
            return new CreateOptions(pidFile, path, noPivot, preserveFds, stdin, stdout, stderr, foreground,
                    noNewKeyring, ownTerminal);
        }
    }

    /** The name of the session keyring of a container's processes (runc's). */
    static String sessionKeyring(String id) {
        return "_ses." + id;
    }

    /** The result of create: the container and, for run, the launcher that waits for its process. */
    public record Created(Container container, Launcher.Session launcher, TerminalRelay terminal) {
    }

    static void checkId(String id) throws RuntimeError {
        if (!validId(id)) {
            throw new RuntimeError("invalid container id \"" + id
                    + "\": use letters, digits and _ + . - (starting with a letter or digit)");
        }
    }

    /** Letters, digits and _ + . -, starting with a letter or digit, at most 1024 (no regex: see Args). */
    private static boolean validId(String id) {
        if (id == null || id.isEmpty() || id.length() > 1024 || !Character.isLetterOrDigit(id.charAt(0))) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '+' || c == '.' || c == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Loads an existing container; fails with "does not exist" if there is none. */
    public static Container load(Path root, String id) throws RuntimeError {
        return load(root, id, Caller.process());
    }

    /** Loads an existing container whose operations act for {@code caller} (hooks, warnings, launchers). */
    public static Container load(Path root, String id, Caller caller) throws RuntimeError {
        checkId(id);
        Path dir = root.resolve(id);
        String text;
        try {
            text = java.nio.file.Files.readString(dir.resolve(STATE));
        } catch (IOException e) {
            throw new RuntimeError("container \"" + id + "\" does not exist");
        }
        try {
            return new Container(dir, ContainerState.parse(text), null, caller);
        } catch (IllegalArgumentException e) {
            throw new RuntimeError("container \"" + id + "\" has a damaged state file: " + e.getMessage());
        }
    }

    /**
     * delete --force of a container whose state.json cannot be read (a crash before it was
     * written, or damage): its cgroup is found again from the kept config.json (or the default
     * path), every process in it is killed, and the cgroup and the state directory are removed.
     */
    public static void deleteDamaged(Path root, String id) throws RuntimeError {
        checkId(id);
        Path dir = root.resolve(id);
        String cgroupsPath = null;
        try {
            cgroupsPath = Spec.parse(java.nio.file.Files.readString(dir.resolve(CONFIG))).linux().cgroupsPath();
        } catch (IOException | IllegalArgumentException ignored) {
            // no readable config: the default cgroup path
        }
        try {
            ControlGroup cg = ControlGroup.forContainer(cgroupsPath, id);
            killAll(cg);
            cg.destroy();
        } catch (IOException e) {
            throw new RuntimeError("cannot delete container \"" + id + "\": " + e.getMessage(), e);
        }
        deleteTree(dir);
    }

    /** Every container under root whose state can be read, by id. */
    public static List<Container> list(Path root) {
        return list(root, Caller.process());
    }

    /** Every container under root whose state can be read, by id, acting for {@code caller}. */
    public static List<Container> list(Path root, Caller caller) {
        List<Container> out = new ArrayList<>();
        if (!java.nio.file.Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> ds = java.nio.file.Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                try {
                    out.add(load(root, p.getFileName().toString(), caller));
                } catch (RuntimeError ignored) {
                    // a container being created, or a foreign directory
                }
            }
        } catch (IOException ignored) {
            // an unreadable root lists as empty
        }
        out.sort(Comparator.comparing(Container::id));
        return out;
    }

    /** The status, derived from the process: its identity, the exec FIFO and the freezer. */
    public Status status() {
        ProcStat st = ProcStat.read(state.pid());
        if (st == null || !st.alive() || st.startTime() != state.pidStartTime()) {
            return Status.STOPPED;
        }
        if (java.nio.file.Files.exists(dir.resolve(InitPlan.EXEC_FIFO))) {
            return Status.CREATED;
        }
        try {
            if (cgroup().isFrozen()) {
                return Status.PAUSED;
            }
        } catch (RuntimeException ignored) {
            // no freezer: cannot be paused
        }
        return Status.RUNNING;
    }

    /** The container's cgroup, loaded once (loading reads the host's mount table). */
    private ControlGroup cgroup() {
        if (cgroup == null) {
            cgroup = ControlGroup.load(state.cgroupPaths());
        }
        return cgroup;
    }

    /** The config.json the container was created from (a copy kept in the state directory). */
    public Spec spec() throws RuntimeError {
        if (spec != null) {
            return spec;
        }
        try {
            spec = Spec.parse(java.nio.file.Files.readString(dir.resolve(CONFIG)));
            return spec;
        } catch (IOException | IllegalArgumentException e) {
            throw new RuntimeError("container \"" + id() + "\": cannot read its config: " + e.getMessage());
        }
    }

    /** The OCI state (runtime-spec "state" operation). */
    public Map<String, Object> ociState() {
        Map<String, Object> m = new LinkedHashMap<>();
        Status s = status();
        m.put("ociVersion", "1.2.0");
        m.put("id", state.id());
        m.put("pid", s == Status.STOPPED ? 0 : state.pid());
        m.put("status", s.wireName());
        m.put("bundle", state.bundle());
        m.put("rootfs", state.rootfs());
        m.put("created", state.created());
        m.put("owner", "");
        if (!state.annotations().isEmpty()) {
            m.put("annotations", state.annotations());
        }
        return m;
    }

    private static String hookState(String id, String status, int pid, Path bundle, Map<String, String> annotations) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ociVersion", "1.2.0");
        m.put("id", id);
        m.put("status", status);
        m.put("pid", pid);
        m.put("bundle", bundle.toString());
        if (!annotations.isEmpty()) {
            m.put("annotations", annotations);
        }
        return Json.write(m);
    }

    // ---------------------------------------------------------------- create

    /**
     * Creates a container from the bundle: its cgroup, namespaces, root file system and init
     * process, which waits for {@link #start()}. On failure nothing is left behind.
     */
    public static Created create(Path root, String id, Path bundle, CreateOptions o) throws RuntimeError {
        return create(root, id, bundle, o, Caller.process());
    }

    /**
     * Create with the launcher started by {@code starter} (null: as a child of this process). An
     * engine passes a starter that has its monitor start the launcher, so that the container's
     * process is the monitor's child; the monitor then owns its stdio, and {@code o}'s stdio
     * descriptors are the starter's to honour or ignore.
     */
    public static Created create(Path root, String id, Path bundle, CreateOptions o, LauncherStarter starter)
            throws RuntimeError {
        return create(root, id, bundle, o, Caller.process().withStarter(starter));
    }

    /**
     * Create for {@code caller}: hooks run in its working directory and write to its stdio, a
     * relayed terminal uses its stdio and signals, and its starter (if any) starts the launcher.
     */
    public static Created create(Path root, String id, Path bundle, CreateOptions o, Caller caller)
            throws RuntimeError {
        checkId(id);
        bundle = bundle.toAbsolutePath().normalize();
        String configText;
        try {
            configText = java.nio.file.Files.readString(bundle.resolve(CONFIG));
        } catch (IOException e) {
            throw new RuntimeError("cannot read " + bundle.resolve(CONFIG) + ": " + e.getMessage());
        }
        Spec spec;
        try {
            spec = Spec.parse(configText);
        } catch (IllegalArgumentException e) {
            throw new RuntimeError(e.getMessage());
        }
        Path rootfs = bundle.resolve(spec.root().path()).normalize();
        if (!java.nio.file.Files.isDirectory(rootfs)) {
            throw new RuntimeError("config.json: root.path: " + rootfs + " is not a directory");
        }
        boolean ownTerminal = spec.process() != null && spec.process().terminal() && o.consoleSocket() == null;
        if (ownTerminal && !o.ownTerminal()) {
            throw new RuntimeError("config.json: process.terminal is true but no --console-socket was given");
        }
        Path dir = root.resolve(id);
        try {
            java.nio.file.Files.createDirectories(root);
            java.nio.file.Files.createDirectory(dir);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new RuntimeError("container with id \"" + id + "\" already exists");
        } catch (IOException e) {
            throw new RuntimeError("cannot create the state directory " + dir + ": " + e.getMessage());
        }
        TerminalRelay terminal = null;
        Creation c = null;
        try {
            if (ownTerminal) {
                terminal = TerminalRelay.open(root, caller);
                o = o.withConsoleSocket(terminal.socketPath());
            }
            c = new Creation(dir, id, bundle, rootfs, spec, o, terminal, caller,
                    caller.starter() != null ? caller.starter() : (plan, stdio) -> Launcher.launch(plan, stdio, root));
            return c.run(configText);
        } catch (RuntimeError | RuntimeException e) {
            if (terminal != null) {
                terminal.close();
            }
            if (c == null) {
                deleteTree(dir);
                throw e instanceof RuntimeError r ? r : new RuntimeError(String.valueOf(e.getMessage()), e);
            }
            c.undo();
            throw e instanceof RuntimeError r ? r : new RuntimeError(String.valueOf(e.getMessage()), e);
        } catch (IOException e) {
            if (terminal != null) {
                terminal.close();
            }
            if (c != null) {
                c.undo();
            } else {
                deleteTree(dir);
            }
            throw new RuntimeError(e.getMessage(), e);
        }
    }

    /** The state of one create, so that a failure can undo exactly what was done. */
    private static final class Creation {
        final Path dir;
        final String id;
        final Path bundle;
        final Path rootfs;
        final Spec spec;
        final CreateOptions o;
        final TerminalRelay terminal;
        final LauncherStarter starter;
        final Caller caller;
        ControlGroup cgroup;
        int pid;
        Launcher.Session session;

        Creation(Path dir, String id, Path bundle, Path rootfs, Spec spec, CreateOptions o, TerminalRelay terminal,
                 Caller caller, LauncherStarter starter) {
            this.starter = starter;
            this.caller = caller;
            this.dir = dir;
            this.id = id;
            this.bundle = bundle;
            this.rootfs = rootfs;
            this.spec = spec;
            this.o = o;
            this.terminal = terminal;
        }

        Created run(String configText) throws IOException, RuntimeError {
            AtomicFile.write(dir.resolve(CONFIG), configText);
            Trace.mark("config read");
            cgroup = ControlGroup.forContainer(spec.linux().cgroupsPath(), id);
            cgroup.create();
            cgroup.apply(DeviceAllowList.effective(spec));
            Trace.mark("cgroup made");

            Plan plan = InitPlan.forCreate(spec, new InitPlan.CreateContext(rootfs, bundle, dir, o.noPivot(),
                    o.preserveFds(), o.consoleSocket(), o.foreground(), cgroup.procsFiles(), cgroup.paths(),
                    o.noNewKeyring() ? null : sessionKeyring(id)));
            Trace.mark("plan made");
            session = starter.start(plan, new Launcher.Stdio(o.stdin(), o.stdout(), o.stderr(), o.preserveFds()));
            Trace.mark("launcher connected");
            converse(session);
            Trace.mark("init ready");
            ProcStat st = ProcStat.read(pid);
            if (st == null || !st.alive()) {
                throw new RuntimeError("the container's init process (pid " + pid + ") died during create");
            }
            ContainerState state = new ContainerState(id, pid, st.startTime(), bundle.toString(), rootfs.toString(),
                    Instant.now().toString(), spec.annotations(), cgroup.paths(), spec.namespace("user") != null,
                    o.noNewKeyring());
            AtomicFile.write(dir.resolve(STATE), state.toJsonText());
            if (o.pidFile() != null) {
                AtomicFile.write(o.pidFile().toAbsolutePath(), Integer.toString(pid));
            }
            if (!o.foreground()) {
                session.close();
                session.waitFor();
            }
            Trace.mark("created");
            return new Created(new Container(dir, state, spec, caller), session, terminal);
        }

        /** Reads the launcher's messages until the init waits for start. */
        private void converse(Launcher.Session s) throws IOException, RuntimeError {
            while (true) {
                String text = s.next();
                if (text == null) {
                    throw new RuntimeError("the container's init exited before it was ready" + launcherStatus());
                } else if (text.startsWith("pid ")) {
                    pid = Integer.parseInt(text.substring(4).trim());
                } else if (text.equals("hooks")) {
                    String st = hookState(id, "creating", pid, bundle, spec.annotations());
                    HookRunner.run("prestart", spec.hooks().prestart(), st, caller);
                    HookRunner.run("createRuntime", spec.hooks().createRuntime(), st, caller);
                    s.reply("ok " + hookState(id, "created", pid, bundle, spec.annotations()));
                } else if (text.equals("ready")) {
                    return;
                } else if (text.startsWith("error ")) {
                    throw new RuntimeError(text.substring(6));
                } else {
                    throw new RuntimeError("unexpected message from the launcher: " + text);
                }
            }
        }

        private String launcherStatus() {
            Integer code = session.exitedCode();
            return code == null ? "" : code > 128 ? " (launcher killed by " + Signals.name(code - 128) + ")"
                    : " (launcher status " + code + ")";
        }

        /** Undoes a failed create: kills the init, reaps the launcher, removes cgroup and state. */
        void undo() {
            if (pid > 0) {
                ProcStat st = ProcStat.read(pid);
                killAndWait(pid, st == null ? 0 : st.startTime());
            }
            if (session != null) {
                session.kill();
                session.close();
            }
            if (cgroup != null) {
                try {
                    killAll(cgroup);
                    cgroup.destroy();
                } catch (IOException ignored) {
                    // best effort: the error that made us undo is the one to report
                }
            }
            deleteTree(dir);
        }
    }

    private static void killAndWait(int pid, long startTime) {
        try {
            if (Signaller.signal(Signals.SIGKILL, new Signaller.Target(pid, startTime)) == Signaller.Result.GONE) {
                return;
            }
        } catch (IOException ignored) {
            // fall through to waiting: it may be going anyway
        }
        for (int i = 0; i < 2000; i++) {
            ProcStat st = ProcStat.read(pid);
            if (st == null || !st.alive()) {
                return;
            }
            sleepMicros(500);
        }
    }

    private static void killAll(ControlGroup cg) throws IOException {
        for (int i = 0; i < 100; i++) {
            List<Integer> pids = cg.pids();
            if (pids.isEmpty()) {
                return;
            }
            List<Signaller.Target> targets = new ArrayList<>();
            for (int p : pids) {
                targets.add(new Signaller.Target(p, 0));
            }
            Signaller.signal(Signals.SIGKILL, targets);
            if (cg.isFrozen()) {
                cg.thaw(); // frozen processes die once thawed
            }
            sleepMicros(2000);
        }
    }

    static void sleepMicros(long us) {
        try {
            Thread.sleep(java.time.Duration.ofNanos(us * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Removes a state directory (files and at most a level of directories, never following links). */
    static void deleteTree(Path dir) {
        java.io.File d = dir.toFile();
        java.io.File[] entries = d.listFiles();
        if (entries != null) {
            for (java.io.File f : entries) {
                if (f.isDirectory() && !java.nio.file.Files.isSymbolicLink(f.toPath())) {
                    deleteTree(f.toPath());
                } else {
                    f.delete();
                }
            }
        }
        d.delete();
    }

    // ---------------------------------------------------------------- start, kill, delete

    /** Lets the init process exec the user's program; runs poststart hooks. */
    public void start() throws RuntimeError {
        Status s = status();
        if (!s.canStart()) {
            throw new RuntimeError("cannot start a container in the " + s.wireName() + " state");
        }
        Path fifo = dir.resolve(InitPlan.EXEC_FIFO);
        try {
            openExecFifo(fifo);
            java.nio.file.Files.deleteIfExists(fifo);
            Trace.mark("started");
        } catch (IOException e) {
            throw new RuntimeError("cannot start container \"" + id() + "\": " + e.getMessage(), e);
        }
        Spec spec = spec();
        try {
            HookRunner.run("poststart", spec.hooks().poststart(),
                    hookState(id(), "running", state.pid(), Path.of(state.bundle()), state.annotations()), caller);
        } catch (RuntimeError e) {
            // The spec: a failing poststart hook is logged, and the container keeps running.
            caller.err().println("vessel-runtime: warning: " + e.getMessage());
        }
    }

    /**
     * Opens the exec FIFO for reading and takes the init's byte: the init, blocked opening the
     * other end, then goes on to exec. The open is plain JDK I/O and so blocking; should the
     * init die first, a watcher opens the writing end itself so that the open returns, and the
     * read then sees no byte.
     */
    private void openExecFifo(Path fifo) throws IOException, RuntimeError {
        java.util.concurrent.atomic.AtomicBoolean opened = new java.util.concurrent.atomic.AtomicBoolean();
        // A platform thread: a virtual one would start the ForkJoinPool scheduler in every start.
        Thread watcher = Thread.ofPlatform().daemon().stackSize(256 * 1024).start(() -> {
            while (!opened.get()) {
                if (status() == Status.STOPPED) {
                    try (java.io.FileOutputStream unblock = new java.io.FileOutputStream(fifo.toFile())) {
                        return;
                    } catch (IOException ignored) {
                        return;
                    }
                }
                sleepMicros(2000);
            }
        });
        try (java.io.FileInputStream in = new java.io.FileInputStream(fifo.toFile())) {
            opened.set(true);
            if (in.read() != '0') {
                throw new RuntimeError("container \"" + id() + "\": its init process exited before start");
            }
        } finally {
            opened.set(true);
            watcher.interrupt();
        }
    }

    /** Sends a signal to the init process, or with {@code all} to every process of the container. */
    public void kill(int signal, boolean all) throws RuntimeError {
        Status s = status();
        if (!s.canKill() && !(all && s == Status.STOPPED)) {
            throw new RuntimeError("container \"" + id() + "\" is not running");
        }
        try {
            if (all) {
                ControlGroup cg = cgroup();
                List<Signaller.Target> targets = new ArrayList<>();
                for (int p : cg.pids()) {
                    targets.add(new Signaller.Target(p, 0));
                }
                Signaller.signal(signal, targets);
                if (signal == Signals.SIGKILL && cg.isFrozen()) {
                    cg.thaw();
                }
                return;
            }
            if (Signaller.signal(signal, new Signaller.Target(state.pid(), state.pidStartTime()))
                    == Signaller.Result.GONE) {
                throw new RuntimeError("container \"" + id() + "\" is not running");
            }
        } catch (IOException e) {
            throw new RuntimeError("cannot signal container \"" + id() + "\": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes the container: its cgroup and state, after running poststop hooks. A running or
     * paused container needs {@code force}, which kills it first.
     */
    public void delete(boolean force) throws RuntimeError {
        Status s = status();
        if (!s.canDelete() && !force) {
            throw new RuntimeError("cannot delete container \"" + id() + "\" that is " + s.wireName()
                    + ": stop it first or use --force");
        }
        ControlGroup cg = cgroup();
        try {
            if (s != Status.STOPPED) {
                killAndWait(state.pid(), state.pidStartTime());
            }
            killAll(cg);
            cg.destroy();
        } catch (IOException e) {
            throw new RuntimeError("cannot delete container \"" + id() + "\": " + e.getMessage(), e);
        }
        Spec spec = null;
        try {
            spec = spec();
        } catch (RuntimeError ignored) {
            // no config: no poststop hooks to run
        }
        deleteTree(dir);
        Trace.mark("deleted");
        if (spec != null) {
            try {
                HookRunner.run("poststop", spec.hooks().poststop(),
                        hookState(id(), "stopped", 0, Path.of(state.bundle()), state.annotations()), caller);
            } catch (RuntimeError e) {
                caller.err().println("vessel-runtime: warning: " + e.getMessage());
            }
        }
    }

    public void pause() throws RuntimeError {
        Status s = status();
        if (!s.canPause()) {
            throw new RuntimeError("cannot pause container \"" + id() + "\" that is " + s.wireName());
        }
        try {
            cgroup().freeze();
        } catch (IOException e) {
            throw new RuntimeError("cannot pause container \"" + id() + "\": " + e.getMessage(), e);
        }
    }

    public void resume() throws RuntimeError {
        Status s = status();
        if (!s.canResume()) {
            throw new RuntimeError("cannot resume container \"" + id() + "\" that is " + s.wireName());
        }
        try {
            cgroup().thaw();
        } catch (IOException e) {
            throw new RuntimeError("cannot resume container \"" + id() + "\": " + e.getMessage(), e);
        }
    }

    public List<Integer> pids() throws RuntimeError {
        try {
            return cgroup().pids();
        } catch (IOException e) {
            throw new RuntimeError("cannot list the processes of \"" + id() + "\": " + e.getMessage(), e);
        }
    }

    public Map<String, Object> stats() throws RuntimeError {
        try {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", "stats");
            m.put("id", id());
            m.put("data", cgroup().stats().toJson());
            return m;
        } catch (IOException e) {
            throw new RuntimeError("cannot read the stats of \"" + id() + "\": " + e.getMessage(), e);
        }
    }

    /** How many of the container's processes the OOM killer killed; read before delete, which removes the cgroup. */
    public long oomKills() throws RuntimeError {
        try {
            return cgroup().oomKills();
        } catch (IOException e) {
            throw new RuntimeError("cannot read the OOM kills of \"" + id() + "\": " + e.getMessage(), e);
        }
    }

    public void update(Resources r) throws RuntimeError {
        Status s = status();
        if (s == Status.STOPPED) {
            throw new RuntimeError("container \"" + id() + "\" is not running");
        }
        try {
            cgroup().apply(r);
        } catch (IOException e) {
            throw new RuntimeError("cannot update container \"" + id() + "\": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- exec

    /** Options of exec. */
    public record ExecOptions(Path pidFile, String consoleSocket, boolean detach, int preserveFds,
                              int stdin, int stdout, int stderr) {
    }

    /**
     * Runs a process in the container's namespaces and cgroup. Without detach, waits for it and
     * returns its exit status in the shell's convention; with detach, returns 0 once it runs.
     */
    public int exec(Spec.Process proc, ExecOptions o) throws RuntimeError {
        return exec(proc, o, null);
    }

    /** Exec with the launcher started by {@code starter} (null: as a child of this process); see create. */
    public int exec(Spec.Process proc, ExecOptions o, LauncherStarter starter) throws RuntimeError {
        Status s = status();
        if (!s.canExec()) {
            throw new RuntimeError("cannot exec in container \"" + id() + "\" that is " + s.wireName());
        }
        if (proc.terminal() && o.consoleSocket() == null) {
            throw new RuntimeError("exec with a terminal needs --console-socket");
        }
        Spec spec = spec();
        List<String[]> join = new ArrayList<>();
        for (String type : Spec.NAMESPACE_TYPES) {
            if (spec.namespace(type) == null) {
                continue;
            }
            String name = InitPlan.procName(type);
            Path theirs = Path.of("/proc/" + state.pid() + "/ns/" + name);
            try {
                if (!java.nio.file.Files.readSymbolicLink(theirs)
                        .equals(java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/ns/" + name)))) {
                    join.add(new String[]{theirs.toString(), type});
                }
            } catch (IOException e) {
                throw new RuntimeError("cannot read " + theirs + ": " + e.getMessage(), e);
            }
        }
        Plan plan = InitPlan.forExec(spec, proc, new InitPlan.ExecContext(join, cgroup().procsFiles(),
                o.preserveFds(), o.consoleSocket(), !o.detach(), state.noNewKeyring() ? null : sessionKeyring(id()),
                Json.write(ociState())));
        Launcher.Session sess = null;
        try {
            Launcher.Stdio stdio = new Launcher.Stdio(o.stdin(), o.stdout(), o.stderr(), o.preserveFds());
            LauncherStarter how = starter != null ? starter : caller.starter();
            sess = how != null ? how.start(plan, stdio) : Launcher.launch(plan, stdio, dir.getParent());
            int pid = 0;
            for (String text = sess.next(); text != null; text = sess.next()) {
                if (text.startsWith("pid ")) {
                    pid = Integer.parseInt(text.substring(4).trim());
                    if (o.pidFile() != null) {
                        AtomicFile.write(o.pidFile().toAbsolutePath(), Integer.toString(pid));
                    }
                } else if (text.startsWith("error ")) {
                    throw new RuntimeError(text.substring(6));
                }
            }
            // End of stream: the process exec'd (its end of the socket closes on exec).
            sess.close();
            if (o.detach()) {
                sess.waitFor();
                return 0;
            }
            ProcStat st = ProcStat.read(pid);
            return waitForLauncher(sess, pid, st == null ? 0 : st.startTime(), caller.signals());
        } catch (IOException e) {
            throw new RuntimeError("exec in container \"" + id() + "\" failed: " + e.getMessage(), e);
        } finally {
            if (sess != null) {
                sess.close();
            }
        }
    }

    /**
     * Waits for a launcher that waits for its container process, forwarding the signals this
     * runtime gets to that process; returns the process's status in the shell's convention.
     */
    public static int waitForLauncher(Launcher.Session launcher, int pid, long startTime) throws RuntimeError {
        return waitForLauncher(launcher, pid, startTime, ForwardSignals::install);
    }

    /** As above, with the signals to forward coming from {@code signals} (a caller's, not this process's). */
    public static int waitForLauncher(Launcher.Session launcher, int pid, long startTime, Caller.SignalSource signals)
            throws RuntimeError {
        Runnable restore = signals.forward(sig -> {
            try {
                Signaller.signal(sig, new Signaller.Target(pid, startTime));
            } catch (IOException ignored) {
                // it exited
            }
        });
        try {
            return launcher.waitFor();
        } catch (IOException e) {
            throw new RuntimeError("waiting for the container failed: " + e.getMessage(), e);
        } finally {
            restore.run();
            launcher.close();
        }
    }
}
