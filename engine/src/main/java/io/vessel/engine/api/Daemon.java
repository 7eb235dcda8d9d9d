package io.vessel.engine.api;

import io.vessel.engine.Engine;
import io.vessel.engine.api.docker.DockerApi;
import io.vessel.engine.api.http.HttpServer;
import io.vessel.engine.api.http.Limits;
import io.vessel.engine.events.Event;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code vessel daemon}: the engine served over Unix sockets with the Docker Engine API
 * ({@code docker.sock}) and Vessel's own ({@code vessel.sock}, today the same API). One daemon per
 * root: it holds an exclusive lock on {@code <root>/daemon.lock} (and writes its pid there) for
 * its life, so a second one fails at once naming the first. {@code vessel} commands may still work
 * on the same root beside it; the engine's own leases keep garbage collection safe between them.
 */
public final class Daemon implements AutoCloseable {
    /** Where the docker CLI looks by default is /var/run/docker.sock; Vessel's lives in its run directory. */
    public static final String DOCKER_SOCKET = "docker.sock";
    public static final String VESSEL_SOCKET = "vessel.sock";
    private static final String LOCK = "daemon.lock";

    private final Engine engine;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final List<HttpServer> servers = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private AutoCloseable containerEvents;
    private DockerApi api;

    private Daemon(Engine engine, FileChannel lockChannel, FileLock lock) {
        this.engine = engine;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** The sockets served when none is named: {@code <run>/docker.sock} and {@code <run>/vessel.sock}. */
    public static List<Path> defaultSockets(Engine engine) {
        Path run = engine.config().runDir();
        return List.of(run.resolve(DOCKER_SOCKET), run.resolve(VESSEL_SOCKET));
    }

    /**
     * Starts serving {@code sockets}; {@code log} gets a line per request when {@code debug}, and
     * failures always.
     *
     * @throws IOException naming the running daemon's pid when another one holds this root
     */
    public static Daemon start(Engine engine, List<Path> sockets, boolean debug, PrintStream log) throws IOException {
        if (sockets.isEmpty()) {
            throw new IllegalArgumentException("the daemon needs at least one socket to listen on");
        }
        Path lockFile = engine.config().root().resolve(LOCK);
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException sameJvm) {
            lock = null;
        }
        if (lock == null) {
            String pid = Files.readString(lockFile, StandardCharsets.UTF_8).trim();
            ch.close();
            throw new IOException("another vessel daemon (pid " + (pid.isEmpty() ? "unknown" : pid)
                    + ") is serving the root " + engine.config().root() + "; stop it first");
        }
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        Daemon d = new Daemon(engine, ch, lock);
        try {
            // bridges and rules back after a reboot; what removed containers left, released
            engine.containers().reconcileNetworks();
        } catch (IOException | RuntimeException e) {
            log.println(Instant.now() + " networks not reconciled (containers' networking may fail): " + e.getMessage());
        }
        try {
            // The daemon is the engine that lives: container events go to /events, and the containers
            // (their exits while no daemon ran, their restart policies) are taken up again.
            d.containerEvents = engine.containers().subscribe(e -> engine.events().publish(
                    Event.now(Event.CONTAINER, e.action(), e.id(), e.attributes())));
            engine.containers().recover();
            DockerApi api = new DockerApi(engine);
            d.api = api;
            for (Path s : sockets) {
                d.servers.add(HttpServer.start(s, api.handler(), Limits.DEFAULT, DockerApi::error, DockerApi.defaultHeaders(),
                        new HttpServer.Log() {
                            @Override
                            public void request(String line) {
                                if (debug) {
                                    log.println(Instant.now() + " " + line);
                                }
                            }

                            @Override
                            public void problem(String line) {
                                log.println(Instant.now() + " " + line);
                            }
                        }));
            }
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    public Engine engine() {
        return engine;
    }

    /** The sockets being served. */
    public List<Path> sockets() {
        return servers.stream().map(HttpServer::socket).toList();
    }

    /** Blocks until {@link #close} is called (from a signal's shutdown hook, say). */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    /** Stops serving, removes the sockets, and releases the root. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        for (HttpServer s : servers) {
            try {
                s.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        servers.clear();
        if (api != null) {
            api.close();
            api = null;
        }
        if (containerEvents != null) {
            try {
                containerEvents.close();
            } catch (Exception e) {
                first = first == null ? new IOException(e.getMessage(), e) : first;
            }
            containerEvents = null;
        }
        if (lock.isValid()) {
            lockChannel.truncate(0);
            lock.release();
        }
        lockChannel.close();
        stopped.countDown();
        if (first != null) {
            throw first;
        }
    }
}
