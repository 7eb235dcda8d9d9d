package io.vessel.engine;

import io.vessel.image.oci.ImageConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Health}'s rules: how a check is made from the container's and the image's, and how results change the status. */
class HealthTest {
    private static final long MS = 1_000_000L;

    @Test
    void theContainersCheckOverTheImagesThenTheDefaults() {
        var image = new ImageConfig.Healthcheck(List.of("CMD", "/bin/check", "--image"), 2000 * MS, null, 5000 * MS, null, 7);
        var mine = new ImageConfig.Healthcheck(List.of(), 300 * MS, 0L, null, null, null);
        Health.Check c = Health.Check.of(mine, image);
        assertEquals(List.of("/bin/check", "--image"), c.command(), "no test of its own: the image's");
        assertEquals(Duration.ofMillis(300), c.interval());
        assertEquals(Health.DEFAULT_TIMEOUT, c.timeout(), "0 means the default");
        assertEquals(Duration.ofSeconds(5), c.startPeriod());
        assertEquals(Health.DEFAULT_START_INTERVAL, c.startInterval());
        assertEquals(7, c.retries());

        Health.Check shell = Health.Check.of(new ImageConfig.Healthcheck(List.of("CMD-SHELL", "test -f /ready"), null, null,
                null, null, null), null);
        assertEquals(List.of("/bin/sh", "-c", "test -f /ready"), shell.command());
        assertEquals(Health.DEFAULT_INTERVAL, shell.interval());
        assertEquals(Health.DEFAULT_RETRIES, shell.retries());

        assertNull(Health.Check.of(new ImageConfig.Healthcheck(List.of("NONE"), null, null, null, null, null), image),
                "NONE switches the image's off");
        assertNull(Health.Check.of(null, null));
        assertThrows(IllegalArgumentException.class,
                () -> Health.Check.of(new ImageConfig.Healthcheck(List.of("RUN", "x"), null, null, null, null, null), null));
        assertThrows(IllegalArgumentException.class,
                () -> Health.Check.of(new ImageConfig.Healthcheck(List.of("CMD"), null, null, null, null, null), null));
    }

    @Test
    void resultsMakeTheStatus() {
        Health.Check check = new Health.Check(List.of("true"), Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(10), Duration.ofSeconds(1), 2);
        Health.State s = new Health.State(Health.State.STARTING, 0, List.of());
        s = s.after(result(1), check, true);
        assertEquals(new Health.State(Health.State.STARTING, 0, s.log()), s, "a failure in the start period does not count");
        s = s.after(result(1), check, false);
        assertEquals(Health.State.STARTING, s.status());
        assertEquals(1, s.failingStreak());
        s = s.after(result(0), check, false);
        assertEquals(Health.State.HEALTHY, s.status());
        assertEquals(0, s.failingStreak());
        s = s.after(result(1), check, false);
        assertEquals(Health.State.HEALTHY, s.status(), "one failure of two allowed");
        s = s.after(result(-1), check, false);
        assertEquals(Health.State.UNHEALTHY, s.status());
        assertEquals(2, s.failingStreak());
        for (int i = 0; i < 10; i++) {
            s = s.after(result(1), check, false);
        }
        assertEquals(Health.MAX_LOG, s.log().size(), "the last results only");
    }

    private static Health.Result result(int code) {
        Instant now = Instant.now();
        return new Health.Result(now, now, code, "");
    }
}
