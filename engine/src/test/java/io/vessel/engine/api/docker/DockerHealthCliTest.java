package io.vessel.engine.api.docker;

import io.vessel.json.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Health checks end to end: {@code docker run --health-*} with the real docker CLI, State.Health read back by inspect. */
class DockerHealthCliTest extends DaemonCliTest {
    @Override
    TestDaemon startDaemon() throws IOException {
        return TestDaemon.start("vessel-dh-", null, true);
    }

    @AfterEach
    void removeContainers() throws Exception {
        removeAllContainers();
    }

    private JsonNode health(String name) throws Exception {
        return JsonNode.parse("inspect", d.docker("inspect", name).ok().out()).elements().getFirst().get("State").get("Health");
    }

    private String status(String name) throws Exception {
        return health(name).get("Status").string("");
    }

    private static boolean eventually(int seconds, DockerContainersCliTest.Check check) throws Exception {
        return DockerContainersCliTest.eventually(seconds, check);
    }

    @Test
    void startingThenHealthyWhenTheCheckPasses() throws Exception {
        d.docker("run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ready && echo fine",
                "--health-interval", "200ms", "--health-retries", "100", "busybox", "sleep", "1000").ok();
        assertEquals("starting", status("hc"));
        assertTrue(eventually(10, () -> health("hc").get("FailingStreak").intValue() >= 1), "failures are counted");
        assertEquals("starting", status("hc"), "failures below the retries leave it starting");
        d.docker("exec", "hc", "touch", "/tmp/ready").ok();
        assertTrue(eventually(10, () -> status("hc").equals("healthy")), health("hc").value().toString());
        JsonNode last = health("hc").get("Log").elements().getLast();
        assertEquals(0, last.get("ExitCode").intValue());
        assertEquals("fine\n", last.get("Output").string());
        assertEquals(0, health("hc").get("FailingStreak").intValue());
        assertTrue(d.docker("inspect", "-f", "{{.State.Health.Status}}", "hc").ok().out().equals("healthy\n"));
        // docker ps: the status column and the health filter
        assertTrue(d.docker("ps", "--format", "{{.Status}}", "--filter", "name=hc").ok().out().matches("Up .* \\(healthy\\)\n"));
        assertEquals("hc\n", d.docker("ps", "--format", "{{.Names}}", "--filter", "health=healthy").ok().out());
        assertEquals("", d.docker("ps", "-q", "--filter", "health=unhealthy").ok().out());
        assertTrue(d.docker("ps", "--filter", "health=bogus").failed().err().contains("Unrecognised filter value for health"));
        // the change was an event: "health_status: healthy", which the filter event=health_status finds by prefix
        String events = d.docker("events", "--since", "0", "--until", Long.toString(System.currentTimeMillis() / 1000 + 1),
                "--filter", "container=hc", "--filter", "event=health_status", "--format", "{{.Action}}").ok().out();
        assertEquals("health_status: healthy\n", events);
    }

    @Test
    void unhealthyAfterTheRetriesAndTimeoutsCount() throws Exception {
        d.docker("run", "-d", "--name", "sick", "--health-cmd", "echo no; exit 1", "--health-interval", "200ms",
                "--health-retries", "2", "busybox", "sleep", "1000").ok();
        assertTrue(eventually(10, () -> status("sick").equals("unhealthy")));
        JsonNode log = health("sick").get("Log");
        assertEquals(1, log.elements().getLast().get("ExitCode").intValue());
        assertEquals("no\n", log.elements().getLast().get("Output").string());
        assertTrue(log.elements().size() <= 5);

        d.docker("run", "-d", "--name", "slow", "--health-cmd", "sleep 30", "--health-interval", "200ms",
                "--health-timeout", "300ms", "--health-retries", "1", "busybox", "sleep", "1000").ok();
        assertTrue(eventually(15, () -> status("slow").equals("unhealthy")));
        JsonNode timedOut = health("slow").get("Log").elements().getLast();
        assertEquals(-1, timedOut.get("ExitCode").intValue());
        assertTrue(timedOut.get("Output").string().contains("exceeded timeout"), timedOut.get("Output").string());
        String top = d.docker("top", "slow").ok().out();
        assertTrue(eventually(5, () -> !d.docker("top", "slow").ok().out().contains("sleep 30")),
                "the timed-out check was killed: " + top);
    }

    @Test
    void noneAndNoCheckHaveNoHealth() throws Exception {
        d.docker("run", "-d", "--name", "plain", "busybox", "sleep", "1000").ok();
        d.docker("run", "-d", "--name", "off", "--no-healthcheck", "busybox", "sleep", "1000").ok();
        Thread.sleep(300);
        assertFalse(health("plain").present());
        assertFalse(health("off").present());
        assertEquals("off\nplain\n", d.docker("ps", "--format", "{{.Names}}", "--filter", "health=none").ok().out()
                .lines().sorted().map(l -> l + "\n").reduce("", String::concat));
    }
}
