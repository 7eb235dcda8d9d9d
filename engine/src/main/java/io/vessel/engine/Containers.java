package io.vessel.engine;

import io.vessel.engine.container.BundleMaker;
import io.vessel.engine.container.JsonFileLog;
import io.vessel.engine.container.Monitor;
import io.vessel.engine.container.NetworkJoin;
import io.vessel.engine.container.RunOptions;
import io.vessel.image.Digest;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.registry.ProgressListener;
import io.vessel.image.store.ImageStore.Image;
import io.vessel.image.store.Snapshot;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;
import io.vessel.linux.Signals;
import io.vessel.runtime.container.Container;
import io.vessel.runtime.container.RuntimeError;
import io.vessel.runtime.container.Status;
import io.vessel.runtime.spec.MountOption;
import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The engine's container lifecycle, shaped as the Docker Engine API serves it: create, start, stop,
 * kill, restart, pause, wait, rename, remove, inspect, top, stats, logs, attach, exec, restart
 * policies, auto-removal, events, and {@link #recover()} at engine start.
 *
 * <p>Each container has a directory {@code <root>/containers/<id>} holding its record
 * ({@code container.json}), its writable layer ({@code upper}, {@code work}), the overlay mount
 * point {@code rootfs}, the bundle's {@code config.json}, its log ({@code <id>-json.log}, rotated)
 * and the last run's exit status ({@code exit.json}). While it runs, a {@code vessel-monitor}
 * process (not this JVM) is its parent and listens in {@code <run>/m/<id prefix>}; the runtime's
 * state is under {@code <run>/runtime}. What is running is read from the runtime and the monitor's
 * files, never assumed, so an engine that crashed finds every container again.
 */
public final class Containers {
    /** What {@code run} is asked to do (the {@code vessel} command). */
    public record RunRequest(String image, String name, RunOptions options, boolean remove, boolean detach,
                             boolean interactive) {
        public RunRequest(String image, String name, RunOptions options, boolean remove, boolean detach) {
            this(image, name, options, remove, detach, false);
        }
    }

    /** A container's summary, as {@code ps} shows it. */
    public record Info(String id, String name, Digest image, String imageName, List<String> command, Instant created,
                       String status, Integer exitCode, Digest topChain, List<String> volumes) {
    }

    /** Docker's restart policies: {@code no}, {@code on-failure[:N]}, {@code always}, {@code unless-stopped}. */
    public record RestartPolicy(String name, int maximumRetryCount) {
        public static final RestartPolicy NO = new RestartPolicy("no", 0);

        public RestartPolicy {
            if (name == null || name.isEmpty()) {
                name = "no";
            }
            if (!Set.of("no", "on-failure", "always", "unless-stopped").contains(name)) {
                throw new IllegalArgumentException("invalid restart policy \"" + name
                        + "\": use no, on-failure[:max-retries], always or unless-stopped");
            }
            if (maximumRetryCount < 0) {
                throw new IllegalArgumentException("invalid restart policy: maximum retry count cannot be negative");
            }
            if (maximumRetryCount > 0 && !name.equals("on-failure")) {
                throw new IllegalArgumentException("invalid restart policy: maximum retry count can only be used with "
                        + "'on-failure'");
            }
        }

        /** {@code --restart}'s syntax. */
        public static RestartPolicy parse(String text) {
            int colon = text.indexOf(':');
            if (colon < 0) {
                return new RestartPolicy(text, 0);
            }
            try {
                return new RestartPolicy(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid restart policy \"" + text + "\": the count is not a number");
            }
        }
    }

    /**
     * How the engine treats a container, beyond its bundle (Docker's HostConfig and Config fields
     * of the same names).
     *
     * @param stopSignal  null: the image's STOPSIGNAL, else SIGTERM
     * @param stopTimeout seconds; null: 10
     */
    public record Lifecycle(RestartPolicy restart, boolean autoRemove, boolean openStdin, boolean stdinOnce,
                            Monitor.LogConfig log, String stopSignal, Integer stopTimeout) {
        public static final Lifecycle DEFAULT = new Lifecycle(RestartPolicy.NO, false, false, false,
                Monitor.LogConfig.DEFAULT, null, null);

        public Lifecycle {
            restart = restart == null ? RestartPolicy.NO : restart;
            log = log == null ? Monitor.LogConfig.DEFAULT : log;
            if (autoRemove && !restart.name().equals("no")) {
                throw new IllegalArgumentException("conflicting options: cannot specify both --restart and --rm");
            }
            if (stopSignal != null) {
                Signals.parse(stopSignal); // names what is wrong
            }
        }
    }

    /** docker create. */
    public record CreateRequest(String image, String name, RunOptions options, Lifecycle lifecycle) {
    }

    /** What create returns: the ID, and warnings (none yet, kept for the API's shape). */
    public record Created(String id, List<String> warnings) {
    }

    /** Docker's State object. */
    public record State(String status, boolean running, boolean paused, boolean restarting, boolean oomKilled,
                        boolean dead, int pid, int exitCode, String error, Instant startedAt, Instant finishedAt) {
    }

    /** What docker inspect shows of a container, from its record and bundle. */
    public record Inspect(String id, String name, Instant created, String path, List<String> args, Digest image,
                          String imageName, State state, int restartCount, Lifecycle lifecycle, boolean tty,
                          Path logPath, List<String> env, String workingDir, String hostname, List<String> volumes,
                          Map<String, String> annotations) {
    }

    /** A container event, for the API's /events. */
    public record Event(String action, String id, String name, Instant time, Map<String, String> attributes) {
    }

    /** docker wait's conditions. */
    public enum WaitCondition {
        NOT_RUNNING, NEXT_EXIT, REMOVED;

        public static WaitCondition parse(String s) {
            return switch (s == null || s.isEmpty() ? "not-running" : s) {
                case "not-running" -> NOT_RUNNING;
                case "next-exit" -> NEXT_EXIT;
                case "removed" -> REMOVED;
                default -> throw new IllegalArgumentException("invalid condition: \"" + s
                        + "\": use not-running, next-exit or removed");
            };
        }
    }

    /** The processes of a container, as docker top shows them: ps's titles and rows. */
    public record Top(List<String> titles, List<List<String>> processes) {
    }

    /**
     * An exec's parameters (the API's ExecConfig).
     *
     * @param user {@code docker exec -u}: as {@code -u} of run, resolved in the container's files; null or
     *             empty: the container's user
     */
    public record ExecConfig(List<String> cmd, boolean tty, boolean attachStdin, boolean attachStdout,
                             boolean attachStderr, List<String> env, String workingDir, String user) {
        public ExecConfig {
            if (cmd == null || cmd.isEmpty()) {
                throw new IllegalArgumentException("no exec command specified");
            }
            env = env == null ? List.of() : List.copyOf(env);
        }

        /** As the container's user. */
        public ExecConfig(List<String> cmd, boolean tty, boolean attachStdin, boolean attachStdout,
                          boolean attachStderr, List<String> env, String workingDir) {
            this(cmd, tty, attachStdin, attachStdout, attachStderr, env, workingDir, null);
        }
    }

    /** An exec's state (docker exec inspect). */
    public record ExecInfo(String id, String containerId, ExecConfig config, boolean running, Integer exitCode,
                           int pid) {
    }

    private static final String RECORD = "container.json";
    private static final String EXIT = "exit.json";
    /** The Docker API's view of a container's configuration, as its client sent it (create). */
    private static final String API_CONFIG = "api.json";
    /** How many exit codes of removed containers are remembered for waiters that see the removal late. */
    private static final int REMOVED_EXITS_KEPT = 256;
    /** Docker's default stop timeout, seconds. */
    private static final int DEFAULT_STOP_TIMEOUT = 10;
    /** The first delay before a restart; it doubles per restart up to MAX_RESTART_DELAY (Docker's). */
    private static final Duration RESTART_DELAY = Duration.ofMillis(100);
    private static final Duration MAX_RESTART_DELAY = Duration.ofMinutes(1);
    /** Characters of the ID that name a monitor's socket directory (short: sun_path). */
    private static final int SOCKET_DIR_ID_CHARS = 16;
    /** How often a waiter re-reads the state, besides being woken by a change. */
    private static final Duration WAIT_POLL = Duration.ofMillis(200);

    private final Engine engine;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final Map<String, List<Attachment>> pendingAttach = new ConcurrentHashMap<>();
    private final Map<String, Integer> exits = new ConcurrentHashMap<>();
    /** Containers {@link #inRoot} froze, with how many of its actions are under way on each (guarded by itself). */
    private final Map<String, Integer> frozenForFiles = new java.util.HashMap<>();
    private final Set<String> watched = ConcurrentHashMap.newKeySet();
    private final Map<String, Exec> execs = new ConcurrentHashMap<>();
    private final List<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();
    private final Object changed = new Object();
    /** The last exit codes of containers removed since (wait condition=removed reports them). */
    private final Map<String, Integer> removedExits = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) {
                    return size() > REMOVED_EXITS_KEPT;
                }
            });

    private final ContainerNetworking networking;

    Containers(Engine engine) {
        this.engine = engine;
        this.networking = new ContainerNetworking(engine);
    }

    // ---------------------------------------------------------------- the record

    /** What is stored per container. */
    private record Stored(String id, String name, Digest image, String imageName, List<String> command,
                          Instant created, Digest topChain, List<String> volumes, boolean tty, Lifecycle lifecycle,
                          String status, int pid, int exitCode, String error, Instant startedAt, Instant finishedAt,
                          int restartCount, boolean manuallyStopped, boolean oomKilled) {
        /** A new state; a start ("running") clears the OOM mark of the run before, as Docker's does. */
        Stored withState(String status, int pid, int exitCode, String error, Instant startedAt, Instant finishedAt) {
            return new Stored(id, name, image, imageName, command, created, topChain, volumes, tty, lifecycle, status,
                    pid, exitCode, error, startedAt, finishedAt, restartCount, manuallyStopped,
                    oomKilled && !status.equals("running"));
        }

        /** The run that ended had a process killed by the OOM killer. */
        Stored withOomKilled(boolean oom) {
            return new Stored(id, name, image, imageName, command, created, topChain, volumes, tty, lifecycle, status,
                    pid, exitCode, error, startedAt, finishedAt, restartCount, manuallyStopped, oom);
        }

        Stored withName(String n) {
            return new Stored(id, n, image, imageName, command, created, topChain, volumes, tty, lifecycle, status,
                    pid, exitCode, error, startedAt, finishedAt, restartCount, manuallyStopped, oomKilled);
        }

        Stored withRestarts(int count, boolean manual) {
            return new Stored(id, name, image, imageName, command, created, topChain, volumes, tty, lifecycle, status,
                    pid, exitCode, error, startedAt, finishedAt, count, manual, oomKilled);
        }

        Stored withLifecycle(Lifecycle l) {
            return new Stored(id, name, image, imageName, command, created, topChain, volumes, tty, l, status,
                    pid, exitCode, error, startedAt, finishedAt, restartCount, manuallyStopped, oomKilled);
        }

        Stored withVolumes(List<String> v) {
            return new Stored(id, name, image, imageName, command, created, topChain, v, tty, lifecycle, status,
                    pid, exitCode, error, startedAt, finishedAt, restartCount, manuallyStopped, oomKilled);
        }
    }

    private Path dir(String id) {
        return engine.config().containersDir().resolve(id);
    }

    private Path logPath(String id) {
        return dir(id).resolve(id + "-json.log");
    }

    private Monitor.Paths monitorPaths(String id) {
        return new Monitor.Paths(engine.config().runDir().resolve("m").resolve(id.substring(0, SOCKET_DIR_ID_CHARS)),
                logPath(id), dir(id).resolve(EXIT), dir(id).resolve("monitor.err"));
    }

    private Object lock(String id) {
        return locks.computeIfAbsent(id, k -> new Object());
    }

    // ---------------------------------------------------------------- events and waiting

    /** Adds a listener of container events; closing the result removes it. */
    public AutoCloseable subscribe(Consumer<Event> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    private void publish(String action, Stored s, Map<String, String> extra) {
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put("image", s.imageName());
        attrs.put("name", s.name());
        attrs.putAll(extra);
        Event e = new Event(action, s.id(), s.name(), Instant.now(), attrs);
        for (Consumer<Event> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ignored) {
                // one listener's failure is not the lifecycle's
            }
        }
        synchronized (changed) {
            changed.notifyAll();
        }
    }

    // ---------------------------------------------------------------- create

    /**
     * docker create: finds (or pulls) the image, checks the name, mounts the image's layers with a
     * new writable layer, makes the bundle and stores the record. Nothing runs yet.
     */
    public Created create(CreateRequest r, ProgressListener pull) throws IOException {
        return create(r, pull, null);
    }

    /**
     * docker create through the Docker API: as {@link #create(CreateRequest, ProgressListener)}, and
     * the request's Config and HostConfig as the client sent them ({@code apiConfig}, may be null)
     * are kept beside the record ({@code api.json}), for inspect and for filters on labels. They are
     * written before the container is announced, so no client sees it without them.
     */
    public Created create(CreateRequest r, ProgressListener pull, Map<String, Object> apiConfig) throws IOException {
        Lifecycle life = r.lifecycle() == null ? Lifecycle.DEFAULT : r.lifecycle();
        Image image = engine.images().find(r.image(), true, pull);
        String id = newId();
        String name = r.name() == null || r.name().isEmpty() ? "vessel_" + id.substring(0, 8) : checkName(r.name());
        Path dir = dir(id);
        Path rootfs = dir.resolve("rootfs");
        Stored s = new Stored(id, name, image.id(), r.image(), command(image, r.options()), Instant.now(),
                image.topChainId(), List.of(), r.options().tty(), life, "created", 0, 0, null, null, null, 0, false, false);
        synchronized (Containers.class) {
            if (find(name) != null) {
                throw new IllegalArgumentException("Conflict. The container name \"/" + name
                        + "\" is already in use. Remove it or choose another name.");
            }
            Files.createDirectories(rootfs);
            writeRecord(s);
        }
        try {
            Snapshot snapshot = Snapshot.prepare(dir, lowers(image, dir));
            snapshot.mount(rootfs, false);
            NetworkJoin join = networking.create(id, name, dir, r.options(),
                    image.config() == null ? ImageConfig.Config.EMPTY : image.config().config(), this);
            BundleMaker.Made made = new BundleMaker(engine.volumes()).make(id, dir, image.config(), r.options(), join);
            s = s.withVolumes(made.volumes());
            if (apiConfig != null) {
                writeAtomically(dir.resolve(API_CONFIG), Json.writePretty(apiConfig));
            }
            writeRecord(s);
        } catch (IOException | RuntimeException e) {
            removeQuietly(id, dir);
            throw e;
        }
        publish("create", s, Map.of());
        return new Created(id, List.of());
    }

    private List<Path> lowers(Image image, Path dir) throws IOException {
        if (image.topChainId() == null) {
            Path empty = dir.resolve("empty");
            Files.createDirectories(empty);
            return List.of(empty);
        }
        engine.images().store().unpack(image);
        return engine.images().store().layerStore().lowerDirs(image.topChainId());
    }

    private List<Path> lowers(Stored s) throws IOException {
        if (s.topChain() == null) {
            Path empty = dir(s.id()).resolve("empty");
            Files.createDirectories(empty);
            return List.of(empty);
        }
        return engine.images().store().layerStore().lowerDirs(s.topChain());
    }

    private static List<String> command(Image image, RunOptions o) {
        List<String> cmd = new ArrayList<>(o.entrypoint() != null ? o.entrypoint() : image.config().config().entrypoint());
        cmd.addAll(o.cmd().isEmpty() ? image.config().config().cmd() : o.cmd());
        return cmd;
    }

    // ---------------------------------------------------------------- start

    /**
     * docker start: a monitor, the runtime's create with the monitor's launcher, attachments
     * waiting for it connected, then the runtime's start. Returns false if it was running already.
     */
    public boolean start(String what) throws IOException {
        Stored s = require(what);
        synchronized (lock(s.id())) {
            s = readRecord(dir(s.id()));
            String live = liveStatus(s);
            if (live.equals("running") || live.equals("paused")) {
                return false;
            }
            if (live.equals("removing") || live.equals("dead")) {
                throw new IllegalStateException("cannot start container " + s.name() + ": it is " + live);
            }
            s = launch(s);
        }
        watch(s.id());
        publish("start", s, Map.of());
        return true;
    }

    /** Runs the container once; the caller holds its lock. */
    private Stored launch(Stored s) throws IOException {
        String id = s.id();
        Path dir = dir(id);
        Monitor.Paths paths = monitorPaths(id);
        // What a previous run may have left: runtime state, an exit file, the rootfs mount.
        deleteRuntimeState(id);
        Files.deleteIfExists(paths.exitFile());
        Mount.detachAll(dir.resolve("rootfs").toString());
        Snapshot.prepare(dir, lowers(s)).mount(dir.resolve("rootfs"), false);
        FileTrees.remove(paths.sockDir());
        Monitor.Started monitor = null;
        List<Attachment> waiting = pendingAttach.remove(id);
        try {
            networking.ensure(id, dir); // connected again if a reboot or reconcile released it
            monitor = Monitor.start(paths, s.lifecycle().log(), s.tty(), s.lifecycle().openStdin());
            Container.Created made;
            try {
                made = Container.create(engine.config().runtimeRoot(), id, dir,
                        new Container.CreateOptions(null, s.tty() ? paths.consoleSocket().toString() : null, false,
                                0, 0, 1, 2, false, false, false), monitor.starter());
            } catch (RuntimeError e) {
                throw new IOException(e.getMessage(), e);
            }
            Container c = made.container();
            monitor.name(c.state().pid());
            if (waiting != null) {
                for (Attachment a : waiting) {
                    connect(a, paths.attachSocket(), s.lifecycle().stdinOnce());
                }
                waiting = null;
            }
            // Taken before the process is let go: a process that exits at once must not finish before it started.
            Instant startedAt = Instant.now();
            try {
                c.start();
            } catch (RuntimeError e) {
                throw new IOException(e.getMessage(), e);
            }
            monitor.close();
            monitor = null;
            exits.putIfAbsent(id, 0);
            Stored running = s.withState("running", c.state().pid(), 0, null, startedAt, null);
            writeRecord(running);
            return running;
        } catch (IOException | RuntimeException e) {
            if (waiting != null) {
                waiting.forEach(a -> a.failed(e));
            }
            if (monitor != null) {
                monitor.close();
            }
            deleteRuntimeState(id);
            try {
                Mount.detachAll(dir.resolve("rootfs").toString());
            } catch (IOException ignored) {
                // the failure to start is what matters
            }
            writeRecord(s.withState("exited", 0, 128, e.getMessage(), s.startedAt(), Instant.now()));
            throw e;
        }
    }

    private static void connect(Attachment a, Path socket, boolean stdinOnce) {
        try {
            a.connected(attachFlags(a, socket, stdinOnce));
        } catch (IOException e) {
            a.failed(e);
        }
    }

    private static Monitor.Attach attachFlags(Attachment a, Path socket, boolean stdinOnce) throws IOException {
        return Monitor.attach(socket, a.stdin, a.stdout, a.stderr, stdinOnce && a.stdin);
    }

    /** Whether the OOM killer killed a process of the container's cgroup (false once the cgroup is gone). */
    private boolean oomKilled(String id) {
        try {
            return Container.load(engine.config().runtimeRoot(), id).oomKills() > 0;
        } catch (RuntimeError gone) {
            return false;
        }
    }

    private void deleteRuntimeState(String id) {
        try {
            Container.load(engine.config().runtimeRoot(), id).delete(true);
        } catch (RuntimeError gone) {
            if (Files.exists(engine.config().runtimeRoot().resolve(id))) {
                try {
                    Container.deleteDamaged(engine.config().runtimeRoot(), id);
                } catch (RuntimeError ignored) {
                    // nothing more to do
                }
            }
        }
    }

    /** Watches a running container's monitor on a virtual thread; the exit is handled when it comes. */
    private void watch(String id) {
        if (!watched.add(id)) {
            return;
        }
        Thread.ofVirtual().name("watch-" + id.substring(0, 12)).start(() -> {
            try {
                Monitor.awaitExit(monitorPaths(id).attachSocket());
                // Gone with or without a word: what happened is in the files.
                handleExit(id);
            } finally {
                watched.remove(id);
            }
        });
    }

    /**
     * Records an exit that the monitor has written (idempotent: an exit already recorded, or a
     * container still running, changes nothing), then applies --rm or the restart policy.
     */
    private void handleExit(String id) {
        Stored s;
        int code;
        boolean oom;
        synchronized (lock(id)) {
            try {
                s = readRecord(dir(id));
            } catch (IOException gone) {
                return; // removed
            }
            if (!s.status().equals("running")) {
                return;
            }
            Monitor.Exit exit;
            try {
                exit = Monitor.readExit(monitorPaths(id).exitFile());
            } catch (IOException | RuntimeException e) {
                exit = null;
            }
            boolean monitorAlive = Monitor.alive(monitorPaths(id).attachSocket());
            if (exit == null && (monitorAlive || runtimeStatus(id) != Status.STOPPED)) {
                return; // still running
            }
            code = exit != null ? exit.exitCode() : 255; // the monitor died too: the status is lost
            oom = oomKilled(id); // before the runtime's delete removes the cgroup
            deleteRuntimeState(id);
            try {
                Mount.detachAll(dir(id).resolve("rootfs").toString());
                FileTrees.remove(monitorPaths(id).sockDir());
            } catch (IOException ignored) {
                // a busy mount is removed with the container
            }
            s = s.withState("exited", 0, code, exit == null ? "the container's monitor exited unexpectedly" : null,
                    s.startedAt(), exit != null ? exit.finishedAt() : Instant.now()).withOomKilled(oom);
            try {
                writeRecord(s);
            } catch (IOException e) {
                return;
            }
            exits.merge(id, 1, Integer::sum);
            removedExits.put(id, code);
        }
        if (oom) {
            publish("oom", s, Map.of());
        }
        publish("die", s, Map.of("exitCode", Integer.toString(code)));
        if (s.lifecycle().autoRemove()) {
            try {
                remove(id, true, true);
            } catch (IOException | RuntimeException ignored) {
                // removed by someone else meanwhile
            }
            return;
        }
        if (shouldRestart(s, code)) {
            scheduleRestart(s);
        }
    }

    private static boolean shouldRestart(Stored s, int code) {
        RestartPolicy p = s.lifecycle().restart();
        return switch (p.name()) {
            case "always" -> !s.manuallyStopped();
            case "unless-stopped" -> !s.manuallyStopped();
            case "on-failure" -> code != 0 && !s.manuallyStopped()
                    && (p.maximumRetryCount() == 0 || s.restartCount() < p.maximumRetryCount());
            default -> false;
        };
    }

    private void scheduleRestart(Stored s) {
        String id = s.id();
        long factor = 1L << Math.min(s.restartCount(), 10);
        Duration delay = RESTART_DELAY.multipliedBy(factor);
        if (delay.compareTo(MAX_RESTART_DELAY) > 0) {
            delay = MAX_RESTART_DELAY;
        }
        synchronized (lock(id)) {
            try {
                Stored now = readRecord(dir(id));
                writeRecord(now.withState("restarting", 0, now.exitCode(), null, now.startedAt(), now.finishedAt())
                        .withRestarts(now.restartCount() + 1, false));
            } catch (IOException gone) {
                return;
            }
        }
        Duration d = delay;
        Thread.ofVirtual().name("restart-" + id.substring(0, 12)).start(() -> {
            try {
                Thread.sleep(d);
                Stored launched;
                synchronized (lock(id)) {
                    Stored now;
                    try {
                        now = readRecord(dir(id));
                    } catch (IOException gone) {
                        return;
                    }
                    if (!now.status().equals("restarting") || now.manuallyStopped()) {
                        return;
                    }
                    launched = launch(now);
                }
                watch(id);
                publish("restart", launched, Map.of());
                publish("start", launched, Map.of());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException | RuntimeException e) {
                synchronized (changed) {
                    changed.notifyAll();
                }
            }
        });
    }

    // ---------------------------------------------------------------- stop, kill, restart, pause

    /**
     * docker stop: the stop signal (the container's, the image's STOPSIGNAL, or SIGTERM), up to
     * {@code timeoutSeconds} (null: the container's, else 10; negative: wait forever) for it to exit,
     * then SIGKILL. Returns false if it was not running.
     */
    public boolean stop(String what, Integer timeoutSeconds) throws IOException {
        return stop(what, timeoutSeconds, null);
    }

    /**
     * docker stop with {@code signal} (name or number; null: the container's stop signal) in place of
     * the stop signal, as the API's {@code signal} parameter asks.
     */
    public boolean stop(String what, Integer timeoutSeconds, String stopSignal) throws IOException {
        Integer asked = stopSignal == null || stopSignal.isEmpty() ? null : Signals.parse(stopSignal); // names what is wrong
        Stored s = require(what);
        String live;
        synchronized (lock(s.id())) {
            s = readRecord(dir(s.id()));
            s = s.withRestarts(s.restartCount(), true);
            writeRecord(s);
            live = liveStatus(s);
            if (live.equals("restarting")) {
                writeRecord(s.withState("exited", 0, s.exitCode(), null, s.startedAt(), Instant.now()));
                return true;
            }
        }
        if (!live.equals("running") && !live.equals("paused")) {
            return false;
        }
        int timeout = timeoutSeconds != null ? timeoutSeconds
                : s.lifecycle().stopTimeout() != null ? s.lifecycle().stopTimeout() : DEFAULT_STOP_TIMEOUT;
        int signal = asked != null ? asked : stopSignal(s);
        try {
            Container c = Container.load(engine.config().runtimeRoot(), s.id());
            if (c.status() == Status.PAUSED && signal != Signals.SIGKILL) {
                c.resume(); // a frozen process cannot act on a signal
            }
            c.kill(signal, false);
            publish("kill", s, Map.of("signal", Integer.toString(signal)));
        } catch (RuntimeError gone) {
            // exited meanwhile
        }
        if (!awaitStopped(s.id(), timeout < 0 ? null : Duration.ofSeconds(timeout))) {
            killAll(s.id());
            publish("kill", s, Map.of("signal", Integer.toString(Signals.SIGKILL)));
            awaitStopped(s.id(), null);
        }
        handleExit(s.id());
        publish("stop", s, Map.of());
        return true;
    }

    private int stopSignal(Stored s) {
        String sig = s.lifecycle().stopSignal();
        if (sig == null) {
            try {
                sig = Container.load(engine.config().runtimeRoot(), s.id()).spec().annotations()
                        .get(BundleMaker.STOP_SIGNAL_ANNOTATION);
            } catch (RuntimeError ignored) {
                // no runtime state: SIGTERM
            }
        }
        return sig == null ? Signals.SIGTERM : Signals.parse(sig);
    }

    private void killAll(String id) {
        try {
            Container.load(engine.config().runtimeRoot(), id).kill(Signals.SIGKILL, true);
        } catch (RuntimeError gone) {
            // exited
        }
    }

    /** Waits until the monitor has written the exit (or the process is gone); false on timeout. */
    private boolean awaitStopped(String id, Duration timeout) {
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
        Path exitFile = monitorPaths(id).exitFile();
        while (true) {
            if (Files.exists(exitFile)) {
                return true;
            }
            if (runtimeStatus(id) == Status.STOPPED && !Monitor.alive(monitorPaths(id).attachSocket())) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(Duration.ofMillis(50));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    private Status runtimeStatus(String id) {
        try {
            return Container.load(engine.config().runtimeRoot(), id).status();
        } catch (RuntimeError gone) {
            return Status.STOPPED;
        }
    }

    /** docker kill: a signal (name or number; null: SIGKILL) to the container's process. */
    public void kill(String what, String signal) throws IOException {
        Stored s = require(what);
        int sig = signal == null || signal.isEmpty() ? Signals.SIGKILL : Signals.parse(signal);
        String live = liveStatus(s);
        if (!live.equals("running") && !live.equals("paused")) {
            throw new IllegalStateException("Container " + s.id() + " is not running");
        }
        try {
            Container.load(engine.config().runtimeRoot(), s.id()).kill(sig, sig == Signals.SIGKILL);
        } catch (RuntimeError e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        publish("kill", s, Map.of("signal", Integer.toString(sig)));
    }

    /** docker restart: stop (if running), then start. */
    public void restart(String what, Integer timeoutSeconds) throws IOException {
        Stored s = require(what);
        stop(s.id(), timeoutSeconds);
        synchronized (lock(s.id())) {
            Stored now = readRecord(dir(s.id()));
            writeRecord(now.withRestarts(now.restartCount(), false));
        }
        start(s.id());
        publish("restart", s, Map.of());
    }

    public void pause(String what) throws IOException {
        Stored s = require(what);
        try {
            Container.load(engine.config().runtimeRoot(), s.id()).pause();
        } catch (RuntimeError e) {
            throw new IllegalStateException("cannot pause container " + s.name() + ": " + e.getMessage(), e);
        }
        publish("pause", s, Map.of());
    }

    public void unpause(String what) throws IOException {
        Stored s = require(what);
        try {
            Container.load(engine.config().runtimeRoot(), s.id()).resume();
        } catch (RuntimeError e) {
            throw new IllegalStateException("cannot unpause container " + s.name() + ": " + e.getMessage(), e);
        }
        publish("unpause", s, Map.of());
    }

    /** docker wait: blocks until the condition holds; returns the exit code. */
    public int await(String what, WaitCondition condition) throws IOException, InterruptedException {
        return await(what, condition, null);
    }

    /**
     * docker wait as the API serves it: {@code registered} runs once the container is found and the
     * exits seen so far are counted, before any waiting, so that a client told "waiting" (the API
     * sends its headers then) cannot miss an exit that follows.
     */
    public int await(String what, WaitCondition condition, Runnable registered) throws IOException,
            InterruptedException {
        Stored s = require(what);
        String id = s.id();
        int seen = exits.getOrDefault(id, 0);
        if (registered != null) {
            registered.run();
        }
        while (true) {
            Stored now;
            try {
                now = readRecord(dir(id));
            } catch (NoSuchFileException removed) {
                Integer last = removedExits.get(id);
                return last != null ? last : s.exitCode();
            }
            String live = liveStatus(now);
            if (live.equals("exited") && now.status().equals("running")) {
                handleExit(id); // no watcher in this engine (another process started it)
                continue;
            }
            boolean stopped = !live.equals("running") && !live.equals("paused") && !live.equals("restarting");
            switch (condition) {
                case NOT_RUNNING -> {
                    if (stopped) {
                        return now.exitCode();
                    }
                }
                case NEXT_EXIT -> {
                    if (exits.getOrDefault(id, 0) > seen) {
                        return now.exitCode();
                    }
                }
                case REMOVED -> {
                }
            }
            s = now;
            synchronized (changed) {
                changed.wait(WAIT_POLL.toMillis());
            }
        }
    }

    /** docker rename. */
    public void rename(String what, String newName) throws IOException {
        Stored s = require(what);
        String n = checkName(newName);
        synchronized (Containers.class) {
            Stored other = findStored(n);
            if (other != null && !other.id().equals(s.id())) {
                throw new IllegalArgumentException("Conflict. The container name \"/" + n
                        + "\" is already in use by container \"" + other.id() + "\".");
            }
            synchronized (lock(s.id())) {
                Stored now = readRecord(dir(s.id()));
                writeRecord(now.withName(n));
                networking.rename(s.id(), n);
            }
        }
        publish("rename", s, Map.of("oldName", "/" + s.name()));
    }

    // ---------------------------------------------------------------- inspection

    /** Every container, newest first, with its live status. */
    public List<Info> list() throws IOException {
        List<Info> out = new ArrayList<>();
        for (Stored s : records()) {
            String live = liveStatus(s);
            Integer exit = live.equals("exited") ? (Integer) liveExitCode(s) : s.status().equals("created") ? null
                    : (Integer) s.exitCode();
            out.add(new Info(s.id(), s.name(), s.image(), s.imageName(), s.command(), s.created(), live, exit,
                    s.topChain(), s.volumes()));
        }
        return out;
    }

    /** By full ID, unique ID prefix or name; null if none. */
    public Info find(String what) throws IOException {
        Stored s = findStored(what);
        if (s == null) {
            return null;
        }
        return new Info(s.id(), s.name(), s.image(), s.imageName(), s.command(), s.created(), liveStatus(s),
                s.exitCode(), s.topChain(), s.volumes());
    }

    /** docker inspect. */
    public Inspect inspect(String what) throws IOException {
        Stored s = require(what);
        String live = liveStatus(s);
        boolean running = live.equals("running") || live.equals("paused");
        int exit = live.equals("exited") ? liveExitCode(s) : s.exitCode();
        Instant finished = s.finishedAt();
        if (live.equals("exited") && s.status().equals("running")) {
            Monitor.Exit e = Monitor.readExit(monitorPaths(s.id()).exitFile());
            finished = e != null ? e.finishedAt() : finished;
        }
        boolean oom = live.equals("exited") && s.status().equals("running") ? oomKilled(s.id()) : s.oomKilled();
        State state = new State(live, running, live.equals("paused"), live.equals("restarting"), oom,
                live.equals("dead"), running ? s.pid() : 0, exit, s.error() == null ? "" : s.error(), s.startedAt(),
                finished);
        List<String> env = List.of();
        String cwd = "/";
        String hostname = "";
        Map<String, String> annotations = Map.of();
        try {
            Spec spec = Spec.parse(Files.readString(dir(s.id()).resolve("config.json")));
            if (spec.process() != null) {
                env = spec.process().env();
                cwd = spec.process().cwd();
            }
            hostname = spec.hostname() == null ? "" : spec.hostname();
            annotations = spec.annotations();
        } catch (IOException | IllegalArgumentException ignored) {
            // a record without a readable bundle: inspect shows what there is
        }
        List<String> cmd = s.command();
        return new Inspect(s.id(), s.name(), s.created(), cmd.isEmpty() ? "" : cmd.getFirst(),
                cmd.isEmpty() ? List.of() : cmd.subList(1, cmd.size()), s.image(), s.imageName(), state,
                s.restartCount(), s.lifecycle(), s.tty(), logPath(s.id()), env, cwd, hostname, s.volumes(),
                annotations);
    }

    /** docker top: {@code ps} (with {@code psArgs}, default -ef) limited to the container's processes. */
    public Top top(String what, String psArgs) throws IOException {
        Stored s = require(what);
        List<Integer> pids;
        try {
            pids = Container.load(engine.config().runtimeRoot(), s.id()).pids();
        } catch (RuntimeError e) {
            throw new IllegalStateException("Container " + s.id() + " is not running");
        }
        List<String> cmd = new ArrayList<>(List.of("ps"));
        cmd.addAll(List.of((psArgs == null || psArgs.isBlank() ? "-ef" : psArgs).trim().split("\\s+")));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IllegalArgumentException("ps " + psArgs + " failed: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        String[] lines = out.split("\n");
        List<String> titles = List.of(lines[0].trim().split("\\s+"));
        int pidColumn = titles.indexOf("PID");
        if (pidColumn < 0) {
            throw new IllegalArgumentException("ps " + psArgs + ": its output has no PID column");
        }
        Set<String> wanted = new HashSet<>();
        pids.forEach(x -> wanted.add(Integer.toString(x)));
        List<List<String>> rows = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+", titles.size());
            if (f.length == titles.size() && wanted.contains(f[pidColumn])) {
                rows.add(List.of(f));
            }
        }
        return new Top(titles, rows);
    }

    /** The runtime's cgroup statistics of a running container. */
    public Map<String, Object> stats(String what) throws IOException {
        Stored s = require(what);
        try {
            return Container.load(engine.config().runtimeRoot(), s.id()).stats();
        } catch (RuntimeError e) {
            throw new IllegalStateException("Container " + s.id() + " is not running");
        }
    }

    /** docker logs: entries from the json-file log; with follow, until the container stops or the sink stops. */
    public void logs(String what, JsonFileLog.Query query, JsonFileLog.Sink sink) throws IOException {
        Stored s = require(what);
        JsonFileLog.read(logPath(s.id()), query, sink, () -> {
            try {
                String live = liveStatus(readRecord(dir(s.id())));
                return live.equals("running") || live.equals("paused") || live.equals("restarting");
            } catch (IOException removed) {
                return false;
            }
        });
    }

    // ---------------------------------------------------------------- attach

    /**
     * docker attach: the container's streams. A created container's attachment connects when it
     * starts (docker run attaches first); a running one's at once.
     */
    public Attachment attach(String what, boolean stdin, boolean stdout, boolean stderr) throws IOException {
        Stored s = require(what);
        Attachment a = new Attachment(s.tty(), stdin && s.lifecycle().openStdin(), stdout, stderr);
        synchronized (lock(s.id())) {
            String live = liveStatus(readRecord(dir(s.id())));
            if (live.equals("running") || live.equals("paused")) {
                connect(a, monitorPaths(s.id()).attachSocket(), false);
            } else {
                pendingAttach.computeIfAbsent(s.id(), k -> new CopyOnWriteArrayList<>()).add(a);
            }
        }
        publish("attach", s, Map.of());
        return a;
    }

    /** Resizes a container's terminal. */
    public void resize(String what, int rows, int cols) throws IOException {
        Stored s = require(what);
        Monitor.resize(monitorPaths(s.id()).attachSocket(), rows, cols);
        publish("resize", s, Map.of("height", Integer.toString(rows), "width", Integer.toString(cols)));
    }

    // ---------------------------------------------------------------- exec

    private static final class Exec {
        final String id;
        final String containerId;
        final ExecConfig config;
        volatile boolean running;
        volatile Integer exitCode;
        volatile int pid;
        volatile Path sockDir;

        Exec(String id, String containerId, ExecConfig config) {
            this.id = id;
            this.containerId = containerId;
            this.config = config;
        }

        ExecInfo info() {
            return new ExecInfo(id, containerId, config, running, exitCode, pid);
        }
    }

    /** docker exec create: checks the container runs and returns the exec's ID. */
    public String execCreate(String what, ExecConfig config) throws IOException {
        Stored s = require(what);
        if (!liveStatus(s).equals("running")) {
            throw new IllegalStateException("Container " + s.id() + " is not running");
        }
        String id = newId();
        execs.put(id, new Exec(id, s.id(), config));
        publish("exec_create", s, Map.of("execID", id));
        return id;
    }

    /**
     * docker exec start: the process runs under a monitor of its own (its stdio, its exit status);
     * returns the attachment (already connected), or null when detached.
     */
    public Attachment execStart(String execId, boolean detach) throws IOException {
        Exec x = execs.get(execId);
        if (x == null) {
            throw new NoSuchFileException("No such exec instance: " + execId);
        }
        synchronized (x) {
            if (x.running || x.exitCode != null) {
                throw new IllegalStateException("exec " + execId + " has already been started");
            }
            x.running = true;
        }
        Stored s = require(x.containerId);
        Path sockDir = engine.config().runDir().resolve("m").resolve("x" + execId.substring(0, SOCKET_DIR_ID_CHARS));
        Monitor.Paths paths = new Monitor.Paths(sockDir, null, sockDir.resolve(EXIT), sockDir.resolve("monitor.err"));
        x.sockDir = sockDir;
        Monitor.Started monitor = null;
        Attachment a = null;
        try {
            FileTrees.remove(sockDir);
            monitor = Monitor.start(paths, Monitor.LogConfig.DEFAULT, x.config.tty(), x.config.attachStdin() && !detach);
            if (!detach) {
                a = new Attachment(x.config.tty(), x.config.attachStdin(), x.config.attachStdout(),
                        x.config.attachStderr());
                a.connected(Monitor.attach(paths.attachSocket(), x.config.attachStdin(), x.config.attachStdout(),
                        x.config.attachStderr(), true));
            }
            Container c = Container.load(engine.config().runtimeRoot(), s.id());
            Spec.Process base = c.spec().process();
            Spec.User user = base.user();
            if (x.config.user() != null && !x.config.user().isEmpty()) {
                io.vessel.engine.container.ExecUser u = io.vessel.engine.container.ExecUser.resolve(
                        dir(s.id()).resolve("rootfs"), x.config.user(), List.of());
                user = new Spec.User(u.uid(), u.gid(), base.user() == null ? null : base.user().umask(),
                        u.additionalGids());
            }
            Spec.Process proc = new Spec.Process(x.config.tty(), 0, 0, user, x.config.cmd(),
                    mergeEnv(base.env(), x.config.env()), x.config.workingDir() == null
                    || x.config.workingDir().isEmpty() ? base.cwd() : x.config.workingDir(),
                    base.capabilities(), base.rlimits(), base.noNewPrivileges(), base.oomScoreAdj(),
                    base.apparmorProfile(), base.selinuxLabel());
            Path pidFile = sockDir.resolve("pid");
            c.exec(proc, new Container.ExecOptions(pidFile, x.config.tty() ? paths.consoleSocket().toString() : null,
                    true, 0, 0, 1, 2), monitor.starter());
            x.pid = Integer.parseInt(Files.readString(pidFile).trim());
            monitor.name(x.pid);
            monitor.close();
            monitor = null;
        } catch (RuntimeError | IOException | RuntimeException e) {
            if (monitor != null) {
                monitor.close();
            }
            if (a != null) {
                a.close();
            }
            x.running = false;
            x.exitCode = 126;
            FileTrees.remove(sockDir);
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
        publish("exec_start", s, Map.of("execID", execId));
        Thread.ofVirtual().name("exec-" + execId.substring(0, 12)).start(() -> {
            Integer code = Monitor.awaitExit(paths.attachSocket());
            if (code == null) {
                try {
                    Monitor.Exit e = Monitor.readExit(paths.exitFile());
                    code = e != null ? e.exitCode() : 255;
                } catch (IOException | RuntimeException e) {
                    code = 255;
                }
            }
            try {
                FileTrees.remove(sockDir); // first: whoever sees the exit sees nothing left behind
            } catch (IOException ignored) {
                // left in the run directory
            }
            x.exitCode = code;
            x.running = false;
            publish("exec_die", s, Map.of("execID", execId, "exitCode", Integer.toString(code)));
        });
        return a;
    }

    private static List<String> mergeEnv(List<String> base, List<String> extra) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String e : base) {
            m.put(e.substring(0, e.indexOf('=')), e);
        }
        for (String e : extra) {
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("exec env \"" + e + "\" must have the form NAME=VALUE");
            }
            m.put(e.substring(0, eq), e);
        }
        return List.copyOf(m.values());
    }

    /**
     * Forgets a finished exec, as dockerd forgets its health checks' execs, which no client
     * inspects: without it they would pile up for as long as the container lives. One still
     * running is kept.
     */
    public void execForget(String execId) {
        execs.computeIfPresent(execId, (k, x) -> x.running ? x : null);
    }

    /** docker exec inspect. */
    public ExecInfo execInspect(String execId) throws NoSuchFileException {
        Exec x = execs.get(execId);
        if (x == null) {
            throw new NoSuchFileException("No such exec instance: " + execId);
        }
        return x.info();
    }

    /** Resizes an exec's terminal. */
    public void execResize(String execId, int rows, int cols) throws IOException {
        Exec x = execs.get(execId);
        if (x == null || x.sockDir == null || !x.running) {
            throw new NoSuchFileException("No such running exec instance: " + execId);
        }
        Monitor.resize(x.sockDir.resolve("a"), rows, cols);
    }

    // ---------------------------------------------------------------- recovery

    /**
     * At engine start: every container found again. Running ones (monitor alive) are watched;
     * exits that happened while no engine ran are recorded now, with --rm and restart policies
     * applied; a container left half-started (created in the runtime, never started) is removed
     * from the runtime and recorded as failed. Returns the containers' IDs.
     */
    public List<String> recover() throws IOException {
        List<String> ids = new ArrayList<>();
        for (Stored s : records()) {
            ids.add(s.id());
            String id = s.id();
            if (s.status().equals("running")) {
                Status rs = runtimeStatus(id);
                if (rs == Status.CREATED) {
                    synchronized (lock(id)) {
                        deleteRuntimeState(id);
                        writeRecord(s.withState("exited", 0, 128, "the engine stopped while starting the container",
                                s.startedAt(), Instant.now()));
                    }
                } else if (Monitor.alive(monitorPaths(id).attachSocket())) {
                    watch(id);
                } else {
                    handleExit(id);
                }
            } else if (s.status().equals("restarting")) {
                scheduleRestart(s.withRestarts(Math.max(0, s.restartCount() - 1), false));
            } else if (s.status().equals("exited") && !s.manuallyStopped()
                    && (s.lifecycle().restart().name().equals("always")
                    || s.lifecycle().restart().name().equals("unless-stopped"))) {
                scheduleRestart(s); // Docker starts these at daemon start
            }
        }
        return ids;
    }

    // ---------------------------------------------------------------- vessel run

    /**
     * {@code vessel run}: create, attach (in the foreground), start; in the foreground the output is
     * copied to this process's stdout and stderr and the exit status returned (with {@code remove},
     * the container is then removed); detached it returns 0 once the container runs.
     */
    public int run(RunRequest r, ProgressListener pull, Consumer<String> started) throws IOException {
        Lifecycle life = new Lifecycle(RestartPolicy.NO, r.remove() && r.detach(), r.interactive(), r.interactive(),
                null, null, null);
        Created c = create(new CreateRequest(r.image(), r.name(), r.options(), life), pull);
        Attachment a = r.detach() ? null : attach(c.id(), r.interactive(), true, true);
        try {
            start(c.id());
        } catch (IOException | RuntimeException e) {
            if (a != null) {
                a.close();
            }
            if (r.remove()) {
                remove(c.id(), true, true);
            }
            throw e;
        }
        if (started != null) {
            started.accept(c.id());
        }
        if (a == null) {
            return 0;
        }
        if (r.interactive()) {
            // A platform daemon thread: reading System.in blocks, and nothing waits for it at exit.
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    System.in.transferTo(a.input());
                    a.closeInput();
                } catch (IOException ignored) {
                    // the container went away first
                }
            });
        }
        try (Attachment att = a) {
            copyOut(att);
        }
        int code;
        try {
            code = await(c.id(), WaitCondition.NOT_RUNNING);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the container");
        }
        if (r.remove()) {
            remove(c.id(), true, true);
        }
        return code;
    }

    /** Copies an attachment's output to System.out/System.err (demultiplexing without a terminal). */
    private static void copyOut(Attachment a) throws IOException {
        java.io.InputStream in = a.output();
        if (a.tty()) {
            in.transferTo(System.out);
            System.out.flush();
            return;
        }
        byte[] header = new byte[8];
        while (in.readNBytes(header, 0, 8) == 8) {
            int len = ((header[4] & 0xff) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8)
                    | (header[7] & 0xff);
            byte[] data = in.readNBytes(len);
            java.io.PrintStream to = header[0] == 2 ? System.err : System.out;
            to.write(data);
            to.flush();
        }
    }

    // ---------------------------------------------------------------- remove

    /**
     * docker rm: a running container needs {@code force} (it is killed); {@code volumes} also removes its
     * anonymous volumes. Named volumes and their data stay.
     */
    public void remove(String what, boolean force, boolean volumes) throws IOException {
        Stored s = require(what);
        String id = s.id();
        String live = liveStatus(s);
        if (live.equals("running") || live.equals("paused") || live.equals("restarting")) {
            if (!force) {
                throw new IllegalStateException("cannot remove container \"" + s.name() + "\": container is "
                        + live + ": stop it before removing or force remove");
            }
            synchronized (lock(id)) {
                Stored now = readRecord(dir(id));
                writeRecord(now.withRestarts(now.restartCount(), true));
            }
            killAll(id);
            awaitStopped(id, Duration.ofSeconds(DEFAULT_STOP_TIMEOUT));
        }
        synchronized (lock(id)) {
            Path dir = dir(id);
            if (!Files.exists(dir.resolve(RECORD))) {
                return; // removed meanwhile (--rm)
            }
            deleteRuntimeState(id);
            networking.release(id);
            engine.volumes().releaseAll(id, volumes);
            Mount.detachAll(dir.resolve("rootfs").toString());
            FileTrees.remove(monitorPaths(id).sockDir());
            FileTrees.remove(dir);
            exits.remove(id);
            execs.values().removeIf(x -> x.containerId.equals(id) && !x.running);
            List<Attachment> waiting = pendingAttach.remove(id);
            if (waiting != null) {
                waiting.forEach(a -> a.failed(new IOException("container " + id + " was removed")));
            }
        }
        locks.remove(id);
        publish("destroy", s, Map.of());
    }

    // ---------------------------------------------------------------- update

    /**
     * docker update: new limits for the container's cgroup while it runs, and in its bundle for the
     * next start; a new restart policy (null: unchanged) in its record. Everything is checked before
     * anything is written; a container that runs gets the limits first, so a limit its cgroup refuses
     * changes nothing stored.
     */
    public void update(String what, io.vessel.engine.container.ResourceUpdate limits, RestartPolicy restart)
            throws IOException {
        Stored s = require(what);
        synchronized (lock(s.id())) {
            s = readRecord(dir(s.id()));
            Lifecycle life = s.lifecycle();
            if (restart != null) {
                if (life.autoRemove() && !restart.name().equals("no")) {
                    throw new IllegalArgumentException("Restart policy cannot be updated because AutoRemove is "
                            + "enabled for the container");
                }
                life = new Lifecycle(restart, life.autoRemove(), life.openStdin(), life.stdinOnce(), life.log(),
                        life.stopSignal(), life.stopTimeout());
            }
            Path bundle = dir(s.id()).resolve("config.json");
            @SuppressWarnings("unchecked")
            Map<String, Object> config = (Map<String, Object>) Json.parse(Files.readString(bundle));
            if (!limits.isEmpty()) {
                limits.applyTo(config);
                Spec.parse(Json.write(config)); // still a bundle the runtime reads
                String live = liveStatus(s);
                if (live.equals("running") || live.equals("paused")) {
                    try {
                        Container.load(engine.config().runtimeRoot(), s.id()).update(limits.resources());
                    } catch (RuntimeError e) {
                        throw new IllegalArgumentException("Cannot update container " + s.id() + ": "
                                + e.getMessage(), e);
                    }
                }
                writeAtomically(bundle, Json.writePretty(config));
            }
            Path api = dir(s.id()).resolve(API_CONFIG);
            if (Files.exists(api)) {
                @SuppressWarnings("unchecked")
                Map<String, Object> stored = (Map<String, Object>) Json.parse(Files.readString(api));
                @SuppressWarnings("unchecked")
                Map<String, Object> host = (Map<String, Object>) stored.computeIfAbsent("HostConfig",
                        k -> new LinkedHashMap<>());
                if (limits.memory() != null) {
                    host.put("Memory", Math.max(0, limits.memory()));
                }
                if (limits.nanoCpus() != null) {
                    host.put("NanoCpus", limits.nanoCpus());
                }
                if (limits.cpuShares() != null) {
                    host.put("CpuShares", limits.cpuShares());
                }
                if (limits.pidsLimit() != null) {
                    host.put("PidsLimit", Math.max(0, limits.pidsLimit()));
                }
                if (restart != null) {
                    host.put("RestartPolicy", Map.of("Name", restart.name(),
                            "MaximumRetryCount", restart.maximumRetryCount()));
                }
                writeAtomically(api, Json.writePretty(stored));
            }
            writeRecord(s.withLifecycle(life));
        }
        publish("update", s, Map.of());
    }

    // ---------------------------------------------------------------- networks

    /** The container's attachments to bridge networks (for inspect's NetworkSettings), in order. */
    public List<io.vessel.engine.network.Attachment> networkAttachments(String what) throws IOException {
        return engine.networks().attachments(require(what).id());
    }

    /**
     * HostConfig.NetworkMode: {@code default}, a network's name, {@code none}, {@code host},
     * {@code container:<id>}; {@code default} for a container made before networking kept a record.
     */
    public String networkMode(String what) throws IOException {
        String m = networking.mode(dir(require(what).id()));
        return m == null ? "default" : m;
    }

    /** The container's aliases by network name (inspect's NetworkSettings.Networks.*.Aliases). */
    public Map<String, List<String>> networkAliases(String what) throws IOException {
        String id = require(what).id();
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (io.vessel.engine.network.Network n : engine.networks().list()) {
            for (io.vessel.engine.network.Endpoint e : n.endpoints()) {
                if (e.containerId().equals(id)) {
                    out.put(n.name(), e.aliases());
                }
            }
        }
        return out;
    }

    /** The container's pinned network namespace (inspect's SandboxKey), if it has one. */
    public java.util.Optional<Path> networkNamespace(String what) throws IOException {
        return engine.networks().netnsOf(require(what).id());
    }

    /**
     * {@code docker network connect}: attaches a created or running container to one more network
     * (live: its namespace gains an interface at once); recorded, so a later start keeps it.
     */
    public io.vessel.engine.network.Attachment connectNetwork(String what, String network, List<String> aliases,
                                                               String ip) throws IOException {
        Stored s = require(what);
        synchronized (lock(s.id())) {
            return networking.connect(s.id(), dir(s.id()), s.name(), network, aliases, ip);
        }
    }

    /** {@code docker network disconnect}. */
    public void disconnectNetwork(String what, String network) throws IOException {
        Stored s = require(what);
        synchronized (lock(s.id())) {
            networking.disconnect(s.id(), dir(s.id()), network);
        }
    }

    /**
     * At the daemon's start: {@link io.vessel.engine.network.Networks#reconcile} (bridges and rules
     * back after a reboot, endpoints whose namespace is gone released), then what networking still
     * holds for containers that no longer exist (a remove cut short) released. Returns the IDs released.
     */
    public List<String> reconcileNetworks() throws IOException {
        List<String> released = new ArrayList<>(engine.networks().reconcile());
        Set<String> known = new HashSet<>();
        for (Stored s : records()) {
            known.add(s.id());
        }
        released.addAll(networking.releaseOrphans(known));
        return released;
    }

    /** The images containers are made from: rmi refuses them without force. */
    public Set<Digest> imagesInUse() throws IOException {
        Set<Digest> s = new HashSet<>();
        for (Stored i : records()) {
            s.add(i.image());
        }
        return s;
    }

    /** The layer stacks containers stand on: garbage collection keeps them. */
    public Set<Digest> chainsInUse() throws IOException {
        Set<Digest> s = new HashSet<>();
        for (Stored i : records()) {
            if (i.topChain() != null) {
                s.add(i.topChain());
            }
        }
        return s;
    }

    // ---------------------------------------------------------------- status

    /**
     * The status now: the record's, corrected by what is alive. A container recorded as running
     * whose monitor wrote its exit (or that is gone) is exited, even before an engine recorded it.
     */
    private String liveStatus(Stored s) {
        if (!s.status().equals("running")) {
            return s.status();
        }
        if (Files.exists(monitorPaths(s.id()).exitFile())) {
            return "exited";
        }
        Status rs = runtimeStatus(s.id());
        return switch (rs) {
            case RUNNING -> "running";
            case PAUSED -> "paused";
            case CREATED -> "created";
            default -> Monitor.alive(monitorPaths(s.id()).attachSocket()) ? "running" : "exited";
        };
    }

    private int liveExitCode(Stored s) {
        if (!s.status().equals("running")) {
            return s.exitCode();
        }
        try {
            Monitor.Exit e = Monitor.readExit(monitorPaths(s.id()).exitFile());
            return e != null ? e.exitCode() : 255;
        } catch (IOException | RuntimeException e) {
            return 255;
        }
    }

    private Stored require(String what) throws IOException {
        Stored s = findStored(what);
        if (s == null) {
            throw new NoSuchFileException("No such container: " + what);
        }
        return s;
    }

    private Stored findStored(String what) throws IOException {
        if (what == null || what.isEmpty()) {
            return null;
        }
        String w = what.startsWith("/") ? what.substring(1) : what;
        Stored byPrefix = null;
        for (Stored i : records()) {
            if (i.id().equals(w) || i.name().equals(w)) {
                return i;
            }
            if (w.length() >= 3 && i.id().startsWith(w)) {
                if (byPrefix != null) {
                    throw new IllegalArgumentException("multiple containers match \"" + what + "\"");
                }
                byPrefix = i;
            }
        }
        return byPrefix;
    }

    /** The containers' records as stored, newest first. */
    private List<Stored> records() throws IOException {
        List<Stored> out = new ArrayList<>();
        Path d = engine.config().containersDir();
        if (!Files.isDirectory(d)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
            for (Path p : s) {
                try {
                    out.add(readRecord(p));
                } catch (NoSuchFileException being) {
                    // being created or removed
                } catch (RuntimeException damaged) {
                    // a record no engine wrote (records are replaced atomically): one such directory must not
                    // hide every other container from ps, recovery and the daemon's start
                }
            }
        }
        out.sort(Comparator.comparing(Stored::created).reversed());
        return out;
    }

    private void removeQuietly(String id, Path dir) {
        try {
            networking.release(id);
        } catch (IOException | RuntimeException ignored) {
            // best effort: the original failure is what the user needs to see
        }
        try {
            engine.volumes().releaseAll(id, true);
        } catch (IOException | RuntimeException ignored) {
            // best effort: the original failure is what the user needs to see
        }
        try {
            Mount.detachAll(dir.resolve("rootfs").toString());
            FileTrees.remove(dir);
        } catch (IOException | RuntimeException ignored) {
            // idem
        }
    }

    private static String newId() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Docker's container names: {@code [a-zA-Z0-9][a-zA-Z0-9_.-]+}. */
    static String checkName(String name) {
        String n = name.startsWith("/") ? name.substring(1) : name;
        if (!n.matches("[a-zA-Z0-9][a-zA-Z0-9_.-]+")) {
            throw new IllegalArgumentException("Invalid container name (" + name
                    + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }
        return n;
    }

    /**
     * The Docker API's Config and HostConfig a container was created with ({@code api.json}), or an
     * empty object for one made otherwise ({@code vessel run}).
     */
    public JsonNode apiConfig(String what) throws IOException {
        Stored s = require(what);
        Path file = dir(s.id()).resolve(API_CONFIG);
        try {
            return JsonNode.parse(file.toString(), Files.readString(file));
        } catch (NoSuchFileException none) {
            return JsonNode.root(file.toString(), new LinkedHashMap<String, Object>());
        }
    }

    /**
     * What a container's file system is made of, for {@link ContainerFiles} (diff, commit, export):
     * its directory, its writable layer ({@code upper}), the image's layer directories under it
     * (top first), its image, its command and its status now.
     */
    record FileSystem(String id, String name, Path dir, Path upper, List<Path> lowers, Digest image, String imageName,
                      Digest topChain, List<String> command, String status) {
    }

    FileSystem fileSystem(String what) throws IOException {
        Stored s = require(what);
        Path dir = dir(s.id());
        return new FileSystem(s.id(), s.name(), dir, dir.resolve("upper"), lowers(s), s.image(), s.imageName(),
                s.topChain(), s.command(), liveStatus(s));
    }

    /** Publishes a container event that another part of the engine caused (commit, export). */
    void announce(String action, String what, Map<String, String> attributes) throws IOException {
        publish(action, require(what), attributes);
    }

    /** Something done with a container's root file system, given as a host path. */
    @FunctionalInterface
    public interface RootAction<T> {
        T apply(Path root) throws IOException;
    }

    /**
     * Runs {@code action} on the container's file system as its processes see it, for the archive
     * endpoints (docker cp, Testcontainers' file copies). A running or paused container's is reached
     * through {@code /proc/PID/root}, so its volumes and tmpfs mounts are included. A created or
     * exited one's is its root file system, mounted again if its exit unmounted it (it then stays
     * mounted, as a created container's is, until the container starts or is removed) with its
     * bind mounts and volumes mounted on it for the time of the action; the container's lock is
     * held meanwhile, so it does not start underneath. {@code action} must
     * resolve container paths in the root with {@link io.vessel.engine.container.RootPath}: links
     * there are the container's.
     */
    public <T> T inRoot(String what, RootAction<T> action) throws IOException {
        Stored s = require(what);
        List<Stored> held = freezeWithSharers(s);
        try {
            return inRootHeld(s, action);
        } finally {
            thaw(held);
        }
    }

    /**
     * Freezes {@code s} and every running container whose bind mounts (volumes, {@code -v} host
     * paths) overlap one of its own, the same directory or one inside the other: inside a shared
     * volume, any of them could swap a directory {@link #inRoot} has checked for a link to the
     * host's files. Returns the containers this call holds frozen; on a failure none.
     */
    private List<Stored> freezeWithSharers(Stored s) throws IOException {
        List<Stored> held = new ArrayList<>();
        try {
            if (holdFrozen(s)) {
                held.add(s);
            }
            for (Stored other : sharingMounts(s)) {
                if (holdFrozen(other)) {
                    held.add(other);
                }
            }
            return held;
        } catch (IOException | RuntimeException e) {
            thaw(held);
            throw e;
        }
    }

    /** Releases the freezes of {@link #freezeWithSharers}, all of them even when one fails. */
    private void thaw(List<Stored> held) {
        RuntimeException first = null;
        for (Stored x : held.reversed()) {
            try {
                releaseFrozen(x);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** The other containers with a bind mount source that overlaps one of {@code s}'s. */
    private List<Stored> sharingMounts(Stored s) throws IOException {
        List<Path> mine = bindSources(s.id());
        List<Stored> sharers = new ArrayList<>();
        if (mine.isEmpty()) {
            return sharers;
        }
        for (Stored other : records()) {
            if (other.id().equals(s.id())) {
                continue;
            }
            for (Path p : bindSources(other.id())) {
                if (mine.stream().anyMatch(m -> m.startsWith(p) || p.startsWith(m))) {
                    sharers.add(other);
                    break;
                }
            }
        }
        return sharers;
    }

    /** The host directories and files a container's bundle binds in, as real paths; missing ones are left out. */
    private List<Path> bindSources(String id) throws IOException {
        Path config = dir(id).resolve("config.json");
        Spec spec;
        try {
            spec = Spec.parse(Files.readString(config));
        } catch (NoSuchFileException noBundle) {
            return List.of();
        } catch (RuntimeException damaged) {
            return List.of(); // a bundle no engine wrote: it does not stop a copy into another container
        }
        List<Path> sources = new ArrayList<>();
        for (Spec.Mount m : spec.mounts()) {
            if (m.isBind() && m.source() != null) {
                try {
                    sources.add(Path.of(m.source()).toRealPath());
                } catch (NoSuchFileException gone) {
                    // nothing there to share
                }
            }
        }
        return sources;
    }

    /**
     * Freezes a running container (its cgroup, as {@code docker pause} does, with no event) while
     * {@link #inRoot} works on its files, so that none of its processes can swap a directory the
     * action has checked for a link to the host's files before the action uses it (the race of
     * CVE-2018-15664; dockerd pauses too). Concurrent actions share one freeze; a container its user
     * paused is left as it is. Returns whether this call holds a freeze to release. {@link #inRoot}
     * freezes the containers that share a volume or bind with it too ({@link #freezeWithSharers}).
     */
    private boolean holdFrozen(Stored s) throws IOException {
        synchronized (frozenForFiles) {
            Integer holds = frozenForFiles.get(s.id());
            if (holds != null) {
                frozenForFiles.put(s.id(), holds + 1);
                return true;
            }
            if (!liveStatus(s).equals("running")) {
                return false; // nothing of it runs, or its user paused it
            }
            try {
                Container.load(engine.config().runtimeRoot(), s.id()).pause();
            } catch (RuntimeError e) {
                if (runtimeStatus(s.id()) == Status.RUNNING) {
                    throw new IllegalStateException("cannot freeze container " + s.name()
                            + " while its files are read or written: " + e.getMessage(), e);
                }
                return false; // it stopped meanwhile
            }
            frozenForFiles.put(s.id(), 1);
            return true;
        }
    }

    private void releaseFrozen(Stored s) {
        synchronized (frozenForFiles) {
            int holds = frozenForFiles.get(s.id());
            if (holds > 1) {
                frozenForFiles.put(s.id(), holds - 1);
                return;
            }
            frozenForFiles.remove(s.id());
            try {
                Container.load(engine.config().runtimeRoot(), s.id()).resume();
            } catch (RuntimeError e) {
                if (runtimeStatus(s.id()) == Status.PAUSED) {
                    throw new IllegalStateException("container " + s.name() + " stays frozen after a file copy: "
                            + e.getMessage(), e);
                }
                // it stopped meanwhile: nothing to thaw
            }
        }
    }

    /** Something done with a container's files while it is frozen. */
    @FunctionalInterface
    interface FrozenWork<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code work} with the container frozen if it runs, as {@link #inRoot} does, for what reads
     * its whole file system (docker export) through paths a running process could swap for links.
     */
    <T> T whileFrozen(String what, FrozenWork<T> work) throws IOException {
        Stored s = require(what);
        boolean held = holdFrozen(s);
        try {
            return work.run();
        } finally {
            if (held) {
                releaseFrozen(s);
            }
        }
    }

    private <T> T inRootHeld(Stored s, RootAction<T> action) throws IOException {
        Path live = liveRoot(s);
        if (live != null) {
            return action.apply(live);
        }
        synchronized (lock(s.id())) {
            s = readRecord(dir(s.id()));
            live = liveRoot(s);
            if (live != null) {
                return action.apply(live);
            }
            Path dir = dir(s.id());
            Path rootfs = dir.resolve("rootfs");
            if (Files.getAttribute(rootfs, "unix:dev").equals(Files.getAttribute(dir, "unix:dev"))) {
                Snapshot.prepare(dir, lowers(s)).mount(rootfs, false);
            }
            String status = liveStatus(s);
            // A running container whose /proc/PID/root could not be confirmed is read through its
            // rootfs alone: binds mounted here could propagate into its own mounts.
            List<Path> binds = status.equals("running") || status.equals("paused") ? List.of() : mountBinds(dir, rootfs);
            try {
                return action.apply(rootfs);
            } finally {
                for (Path b : binds.reversed()) {
                    Mount.umount(b.toString(), Mount.MNT_DETACH);
                }
            }
        }
    }

    /**
     * Bind-mounts a stopped container's bind mounts (its volumes, {@code -v} host paths and hosts
     * files) onto its rootfs where it sees them when it runs, read-only ones read-only, so that
     * {@link #inRoot} shows what a running container would (as dockerd does for docker cp).
     * Missing mount points are made, as the runtime makes them at start. Returns the mounts made,
     * in order; on a failure none is left.
     */
    private static List<Path> mountBinds(Path dir, Path rootfs) throws IOException {
        Spec spec = Spec.parse(Files.readString(dir.resolve("config.json")));
        List<Path> made = new ArrayList<>();
        try {
            for (Spec.Mount m : spec.mounts()) {
                if (!m.isBind() || m.source() == null || !Files.exists(Path.of(m.source()))) {
                    continue;
                }
                Path target = io.vessel.engine.container.RootPath.resolve(rootfs, m.destination());
                if (!Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(target.getParent());
                    if (Files.isDirectory(Path.of(m.source()))) {
                        Files.createDirectory(target);
                    } else {
                        Files.createFile(target);
                    }
                }
                Mount.mount(m.source(), target.toString(), null, MountOption.MS_BIND | MountOption.MS_REC, null);
                made.add(target);
                if (m.options().contains("ro")) {
                    Mount.mount(null, target.toString(), null,
                            MountOption.MS_REMOUNT | MountOption.MS_BIND | MountOption.MS_RDONLY, null);
                }
            }
        } catch (IOException | RuntimeException e) {
            for (Path b : made.reversed()) {
                try {
                    Mount.umount(b.toString(), Mount.MNT_DETACH);
                } catch (IOException ignored) {
                    // the first failure is the one to report
                }
            }
            throw e;
        }
        return made;
    }

    /**
     * {@code /proc/PID/root} of a running or paused container's first process, else null. The root
     * found there must be the container's rootfs (the same overlay as {@code rootfs}, mounted while
     * it runs), so that a process that took the pid of one that exited is never read as the container.
     */
    private Path liveRoot(Stored s) {
        String live = liveStatus(s);
        if (!(live.equals("running") || live.equals("paused")) || s.pid() <= 0) {
            return null;
        }
        Path root = Path.of("/proc", Integer.toString(s.pid()), "root");
        try {
            Object dev = Files.getAttribute(root.resolve("."), "unix:dev");
            return dev.equals(Files.getAttribute(dir(s.id()).resolve("rootfs"), "unix:dev")) ? root : null;
        } catch (IOException | RuntimeException gone) {
            return null;
        }
    }

    /** The container's OCI bundle configuration ({@code config.json}) as the runtime got it. */
    public Spec spec(String what) throws IOException {
        Stored s = require(what);
        return Spec.parse(Files.readString(dir(s.id()).resolve("config.json")));
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void writeRecord(Stored s) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Id", s.id());
        m.put("Name", s.name());
        m.put("Image", s.image().toString());
        m.put("ImageName", s.imageName());
        m.put("Command", s.command());
        m.put("Created", s.created().toString());
        if (s.topChain() != null) {
            m.put("TopChain", s.topChain().toString());
        }
        m.put("Volumes", s.volumes());
        m.put("Tty", s.tty());
        Lifecycle l = s.lifecycle();
        m.put("RestartPolicy", Map.of("Name", l.restart().name(), "MaximumRetryCount", l.restart().maximumRetryCount()));
        m.put("AutoRemove", l.autoRemove());
        m.put("OpenStdin", l.openStdin());
        m.put("StdinOnce", l.stdinOnce());
        m.put("LogConfig", Map.of("max-size", l.log().maxSize(), "max-file", l.log().maxFile()));
        if (l.stopSignal() != null) {
            m.put("StopSignal", l.stopSignal());
        }
        if (l.stopTimeout() != null) {
            m.put("StopTimeout", l.stopTimeout());
        }
        Map<String, Object> st = new LinkedHashMap<>();
        st.put("Status", s.status());
        st.put("Pid", s.pid());
        st.put("ExitCode", s.exitCode());
        if (s.error() != null) {
            st.put("Error", s.error());
        }
        if (s.startedAt() != null) {
            st.put("StartedAt", s.startedAt().toString());
        }
        if (s.finishedAt() != null) {
            st.put("FinishedAt", s.finishedAt().toString());
        }
        st.put("OOMKilled", s.oomKilled());
        m.put("State", st);
        m.put("RestartCount", s.restartCount());
        m.put("ManuallyStopped", s.manuallyStopped());
        Path dir = dir(s.id());
        Path tmp = dir.resolve("." + RECORD + ".tmp");
        Files.writeString(tmp, Json.writePretty(m), StandardCharsets.UTF_8);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(RECORD), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static Stored readRecord(Path dir) throws IOException {
        Path file = dir.resolve(RECORD);
        JsonNode n = JsonNode.parse(file.toString(), Files.readString(file));
        JsonNode rp = n.get("RestartPolicy");
        JsonNode lc = n.get("LogConfig");
        Lifecycle life = new Lifecycle(
                rp.present() ? new RestartPolicy(rp.get("Name").string(), rp.get("MaximumRetryCount").intValue())
                        : RestartPolicy.NO,
                n.get("AutoRemove").present() && n.get("AutoRemove").bool(false),
                n.get("OpenStdin").present() && n.get("OpenStdin").bool(false),
                n.get("StdinOnce").present() && n.get("StdinOnce").bool(false),
                lc.present() ? new Monitor.LogConfig(lc.get("max-size").longValue(), lc.get("max-file").intValue())
                        : Monitor.LogConfig.DEFAULT,
                n.get("StopSignal").present() ? n.get("StopSignal").string() : null,
                n.get("StopTimeout").present() ? n.get("StopTimeout").intValue() : null);
        JsonNode st = n.get("State");
        String status = st.present() ? st.get("Status").string()
                : n.get("Status").present() ? n.get("Status").string() : "created";
        return new Stored(n.get("Id").string(), n.get("Name").string(), Digest.parse(n.get("Image").string()),
                n.get("ImageName").string(), n.get("Command").stringList(), Instant.parse(n.get("Created").string()),
                n.get("TopChain").present() ? Digest.parse(n.get("TopChain").string()) : null,
                n.get("Volumes").present() ? n.get("Volumes").stringList() : List.of(),
                n.get("Tty").present() && n.get("Tty").bool(false), life, status,
                st.present() ? st.get("Pid").intValue() : 0,
                st.present() ? st.get("ExitCode").intValue() : 0,
                st.present() && st.get("Error").present() ? st.get("Error").string() : null,
                st.present() && st.get("StartedAt").present() ? Instant.parse(st.get("StartedAt").string()) : null,
                st.present() && st.get("FinishedAt").present() ? Instant.parse(st.get("FinishedAt").string()) : null,
                n.get("RestartCount").present() ? n.get("RestartCount").intValue() : 0,
                n.get("ManuallyStopped").present() && n.get("ManuallyStopped").bool(false),
                st.present() && st.get("OOMKilled").present() && st.get("OOMKilled").bool(false));
    }
}
