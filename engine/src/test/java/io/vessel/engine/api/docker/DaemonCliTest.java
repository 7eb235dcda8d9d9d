package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.api.docker.TestDaemon.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A test class whose tests share one daemon ({@link TestDaemon}): started before the first test by
 * {@link #startDaemon}, closed after the last, and driven through the real docker CLI with
 * {@link #docker}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
abstract class DaemonCliTest {
    TestDaemon d;
    /** The daemon's temporary directory, its engine and its socket. */
    Path dir;
    Engine engine;
    Path socket;

    /** Starts this class's daemon ({@code TestDaemon.start} with its own prefix and options). */
    abstract TestDaemon startDaemon() throws IOException;

    @BeforeAll
    final void startTheDaemon() throws IOException {
        d = startDaemon();
        dir = d.dir;
        engine = d.engine;
        socket = d.socket;
    }

    @AfterAll
    final void closeTheDaemon() throws IOException {
        if (d != null) {
            d.close();
        }
    }

    /** Removes every container the daemon has (for an {@code @AfterEach}). */
    void removeAllContainers() throws IOException, InterruptedException {
        for (String id : docker("ps", "-aq").ok().out().lines().filter(l -> !l.isBlank()).toList()) {
            docker("rm", "-f", id).ok();
        }
    }

    /** docker ARGS against the daemon. */
    Result docker(String... args) throws IOException, InterruptedException {
        return d.docker(args);
    }
}
