package io.vessel.engine;

import io.vessel.image.oci.ImageConfig;
import io.vessel.linux.Signals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Docker's health checks ({@code HEALTHCHECK}, {@code docker run --health-*}): while a container
 * runs, its check command is run with exec at its interval and the results make its health
 * ({@code starting}, {@code healthy}, {@code unhealthy}) that inspect shows as {@code State.Health}
 * and that clients wait on (Testcontainers' {@code Wait.forHealthcheck()}). One virtual thread per
 * checked container; it ends when the container stops. Health is the daemon's memory: a daemon
 * that restarts begins again at {@code starting}.
 */
public final class Health implements AutoCloseable {
    /** dockerd's defaults (daemon/health.go): interval, timeout and start interval, retries. */
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    static final Duration DEFAULT_START_INTERVAL = Duration.ofSeconds(5);
    static final int DEFAULT_RETRIES = 3;
    /** dockerd keeps the last 5 results and 4096 bytes of each one's output. */
    static final int MAX_LOG = 5;
    static final int MAX_OUTPUT = 4096;
    /** The multiplexed stream's frame header: stream, 3 zero bytes, a 32-bit big-endian length. */
    private static final int FRAME_HEADER = 8;
    /** How long a finished check's exit status may take to be recorded after its output ends. */
    private static final Duration EXIT_WAIT = Duration.ofSeconds(5);

    /** A container's check as it runs: the command (exec form) and its timing. */
    public record Check(List<String> command, Duration interval, Duration timeout, Duration startPeriod,
                        Duration startInterval, int retries) {
        public Check {
            command = List.copyOf(command);
        }

        /**
         * The check of a container created with {@code mine} (its Config.Healthcheck, may be null)
         * from an image with {@code image} (may be null): dockerd's merge, the container's test and
         * each timing it sets over the image's, then the defaults. Null when neither has a test or
         * the test is {@code NONE}.
         */
        public static Check of(ImageConfig.Healthcheck mine, ImageConfig.Healthcheck image) {
            List<String> test = mine != null && !mine.test().isEmpty() ? mine.test()
                    : image != null ? image.test() : List.of();
            if (test.isEmpty() || test.getFirst().equals("NONE")) {
                return null;
            }
            List<String> command = switch (test.getFirst()) {
                case "CMD" -> test.subList(1, test.size());
                case "CMD-SHELL" -> List.of("/bin/sh", "-c", String.join(" ", test.subList(1, test.size())));
                default -> throw new IllegalArgumentException("Healthcheck.Test must start with NONE, CMD or CMD-SHELL, not \""
                        + test.getFirst() + "\"");
            };
            if (command.isEmpty()) {
                throw new IllegalArgumentException("Healthcheck.Test " + test + " has no command");
            }
            return new Check(command,
                    duration(mine == null ? null : mine.interval(), image == null ? null : image.interval(), DEFAULT_INTERVAL),
                    duration(mine == null ? null : mine.timeout(), image == null ? null : image.timeout(), DEFAULT_TIMEOUT),
                    duration(mine == null ? null : mine.startPeriod(), image == null ? null : image.startPeriod(), Duration.ZERO),
                    duration(mine == null ? null : mine.startInterval(), image == null ? null : image.startInterval(),
                            DEFAULT_START_INTERVAL),
                    mine != null && mine.retries() != null && mine.retries() > 0 ? mine.retries()
                            : image != null && image.retries() != null && image.retries() > 0 ? image.retries()
                            : DEFAULT_RETRIES);
        }

        private static Duration duration(Long mine, Long image, Duration dflt) {
            return mine != null && mine > 0 ? Duration.ofNanos(mine) : image != null && image > 0 ? Duration.ofNanos(image) : dflt;
        }
    }

    /** One run of the check: when, its exit status (-1: it timed out or could not run) and output. */
    public record Result(Instant start, Instant end, int exitCode, String output) {
    }

    /** A container's health: its status, failures in a row, and the last results, oldest first. */
    public record State(String status, int failingStreak, List<Result> log) {
        public static final String STARTING = "starting", HEALTHY = "healthy", UNHEALTHY = "unhealthy";

        public State {
            log = List.copyOf(log);
        }

        /** After {@code r}: a success is healthy; failures count once the start period is over, {@code retries} make unhealthy. */
        State after(Result r, Check check, boolean inStartPeriod) {
            List<Result> l = new ArrayList<>(log);
            l.add(r);
            if (l.size() > MAX_LOG) {
                l = l.subList(l.size() - MAX_LOG, l.size());
            }
            if (r.exitCode() == 0) {
                return new State(HEALTHY, 0, l);
            }
            if (inStartPeriod && status.equals(STARTING)) {
                return new State(status, failingStreak, l);
            }
            int streak = failingStreak + 1;
            return new State(streak >= check.retries() ? UNHEALTHY : status, streak, l);
        }
    }

    private final Containers containers;
    private final Function<String, Check> checks;
    private final BiConsumer<String, State> changed;
    private final Map<String, State> states = new ConcurrentHashMap<>();
    private final Map<String, Thread> probes = new ConcurrentHashMap<>();
    private final AutoCloseable subscription;
    private volatile boolean closed;

    /**
     * Follows {@code containers}' starts and stops; {@code checks} gives a container's check (null:
     * none) by its ID; {@code changed} hears each change of a container's status (for the
     * {@code health_status} events). Containers already running are checked from now.
     */
    public Health(Containers containers, Function<String, Check> checks, BiConsumer<String, State> changed)
            throws IOException {
        this.containers = containers;
        this.checks = checks;
        this.changed = changed;
        this.subscription = containers.subscribe(e -> {
            switch (e.action()) {
                case "start" -> watch(e.id());
                case "destroy" -> {
                    Thread t = probes.remove(e.id());
                    if (t != null) {
                        t.interrupt();
                    }
                    states.remove(e.id());
                }
                default -> {
                }
            }
        });
        for (Containers.Info c : containers.list()) {
            if ("running".equals(c.status())) {
                watch(c.id());
            }
        }
    }

    /** The container's health, when it has a check and has been started with it. */
    public Optional<State> state(String id) {
        return Optional.ofNullable(states.get(id));
    }

    /** Begins checking the container (again, from {@code starting}) if it has a check. */
    void watch(String id) {
        if (closed) {
            return;
        }
        Check check;
        try {
            check = checks.apply(id);
        } catch (RuntimeException unreadable) {
            return; // removed meanwhile, or a check that could not be read: none
        }
        if (check == null) {
            return;
        }
        states.put(id, new State(State.STARTING, 0, List.of()));
        Thread t = Thread.ofVirtual().name("health-" + id.substring(0, Math.min(12, id.length())))
                .unstarted(() -> probeLoop(id, check));
        Thread previous = probes.put(id, t);
        if (previous != null) {
            previous.interrupt();
        }
        t.start();
    }

    private void probeLoop(String id, Check check) {
        Instant started = Instant.now();
        try {
            while (!closed && probes.get(id) == Thread.currentThread()) {
                boolean inStart = Duration.between(started, Instant.now()).compareTo(check.startPeriod()) < 0;
                Thread.sleep(inStart ? check.startInterval() : check.interval());
                if (!running(id)) {
                    return;
                }
                inStart = Duration.between(started, Instant.now()).compareTo(check.startPeriod()) < 0;
                Result r = probe(id, check);
                if (r == null) {
                    return; // the container stopped
                }
                boolean startPeriod = inStart;
                State before = states.get(id);
                State now = states.computeIfPresent(id, (k, s) -> s.after(r, check, startPeriod));
                if (now != null && before != null && !now.status().equals(before.status())) {
                    try {
                        changed.accept(id, now);
                    } catch (RuntimeException listenerFailed) {
                        // the status is recorded; only its announcement is lost
                    }
                }
            }
        } catch (InterruptedException e) {
            // stopped or removed
        } finally {
            probes.remove(id, Thread.currentThread());
        }
    }

    private boolean running(String id) {
        try {
            return containers.inspect(id).state().running();
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }

    /** One run of the check; null when the container is no longer running. */
    private Result probe(String id, Check check) throws InterruptedException {
        Instant start = Instant.now();
        String exec;
        Attachment a;
        try {
            exec = containers.execCreate(id, new Containers.ExecConfig(check.command(), false, false, true, true,
                    List.of(), "", ""));
            a = containers.execStart(exec, false);
        } catch (IllegalStateException notRunning) {
            return null;
        } catch (IOException | RuntimeException e) {
            return new Result(start, Instant.now(), -1, "the check could not run: " + e.getMessage());
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().name("health-output").start(() -> collect(a, output));
        boolean timedOut = false;
        try {
            if (!reader.join(check.timeout())) {
                kill(exec);
                timedOut = true;
            }
        } finally {
            try {
                a.close();
            } catch (IOException ignored) {
                // the exec is over either way
            }
        }
        long deadline = System.nanoTime() + EXIT_WAIT.toNanos();
        Integer code = null;
        while (System.nanoTime() < deadline) {
            try {
                Containers.ExecInfo x = containers.execInspect(exec);
                if (!x.running() && x.exitCode() != null) {
                    code = x.exitCode();
                    break;
                }
            } catch (IOException gone) {
                break;
            }
            Thread.sleep(10);
        }
        containers.execForget(exec);
        if (timedOut) {
            return new Result(start, Instant.now(), -1, "Health check exceeded timeout (" + check.timeout() + ")");
        }
        String text;
        synchronized (output) {
            text = output.toString(StandardCharsets.UTF_8);
        }
        return new Result(start, Instant.now(), code == null ? -1 : code, text);
    }

    /** The exec's stdout and stderr (multiplexed frames), at most {@link #MAX_OUTPUT} bytes kept. */
    private static void collect(Attachment a, ByteArrayOutputStream output) {
        try {
            InputStream in = a.output();
            byte[] header = new byte[FRAME_HEADER];
            while (in.readNBytes(header, 0, FRAME_HEADER) == FRAME_HEADER) {
                int size = ((header[4] & 0xff) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
                byte[] data = in.readNBytes(size);
                synchronized (output) {
                    output.write(data, 0, Math.min(data.length, MAX_OUTPUT - output.size()));
                }
                if (data.length < size) {
                    return;
                }
            }
        } catch (IOException | RuntimeException ended) {
            // the exec ended or its monitor went away: what was read is the output
        }
    }

    private void kill(String exec) {
        try {
            int pid = containers.execInspect(exec).pid();
            if (pid > 0) {
                io.vessel.linux.Processes.kill(pid, Signals.SIGKILL);
            }
        } catch (IOException | RuntimeException gone) {
            // it ended meanwhile
        }
    }

    /** Stops following the containers and ends the checks (waiting a little for each). */
    @Override
    public void close() {
        closed = true;
        try {
            subscription.close();
        } catch (Exception e) {
            // Containers' subscriptions only remove a listener
        }
        probes.values().forEach(Thread::interrupt);
        try {
            for (Thread t : probes.values()) {
                t.join(TimeUnit.SECONDS.toMillis(5));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
