package io.vessel.engine.api.docker;

import io.vessel.engine.container.MountSpec;
import io.vessel.image.oci.ImageConfig;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The create body as the docker CLI sends it, read into the engine's options. */
class CreateBodyTest {
    static final ImageConfig.Config IMAGE = new ImageConfig.Config("nobody", List.of("PATH=/bin"), List.of("/ep"),
            List.of("default-arg"), "/", Set.of(), Set.of(), Map.of("from", "image"), null, List.of(), null, List.of());

    static CreateBody read(String json) {
        return CreateBody.read(JsonNode.parse("body", json), IMAGE);
    }

    @Test
    void nullsAreZeroValuesAndUnknownFieldsAreIgnored() {
        CreateBody b = read("""
                {"Image": "busybox", "Cmd": null, "Entrypoint": null, "Env": null, "Labels": {"a": "b"},
                 "Unknown": [1, 2], "HostConfig": {"Binds": null, "Memory": 0, "RestartPolicy": {"Name": ""},
                 "LogConfig": {"Type": "", "Config": {}}, "Whatever": true}}""");
        assertEquals(List.of(), b.options.cmd());
        assertNull(b.options.entrypoint());
        assertEquals("no", b.lifecycle.restart().name());
        @SuppressWarnings("unchecked")
        Map<String, Object> config = (Map<String, Object>) b.apiConfig.get("Config");
        assertEquals(List.of("default-arg"), config.get("Cmd"));
        assertEquals(List.of("/ep"), config.get("Entrypoint"));
        assertEquals(Map.of("from", "image", "a", "b"), config.get("Labels"));
        assertEquals("nobody", config.get("User"));
    }

    @Test
    void entrypointSemantics() {
        CreateBody cleared = read("{\"Image\": \"b\", \"Entrypoint\": [\"\"], \"Cmd\": [\"echo\"]}");
        assertEquals(List.of(), cleared.options.entrypoint());
        CreateBody given = read("{\"Image\": \"b\", \"Entrypoint\": \"/bin/sh\"}");
        assertEquals(List.of("/bin/sh"), given.options.entrypoint());
        @SuppressWarnings("unchecked")
        Map<String, Object> config = (Map<String, Object>) given.apiConfig.get("Config");
        assertEquals(List.of(), config.get("Cmd"), "a given entrypoint drops the image's CMD");
    }

    @Test
    void hostConfigIsApplied() {
        CreateBody b = read("""
                {"Image": "b", "Tty": true, "OpenStdin": true, "StdinOnce": true, "StopSignal": "SIGUSR1",
                 "StopTimeout": 3, "Volumes": {"/anon": {}},
                 "HostConfig": {"Binds": ["/srv:/srv:ro"], "Tmpfs": {"/run": "size=1m"}, "Memory": 1048576,
                  "NanoCpus": 1500000000, "PidsLimit": 20, "CpuShares": 256, "ReadonlyRootfs": true,
                  "CapDrop": ["ALL"], "AutoRemove": true, "NetworkMode": "default",
                  "Mounts": [{"Type": "volume", "Source": "data", "Target": "/data", "ReadOnly": true}],
                  "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "3"}}}}""");
        assertTrue(b.options.tty() && b.options.readOnly());
        assertEquals(1048576, b.options.memory());
        assertEquals(1.5, b.options.cpus());
        assertEquals(20, b.options.pidsLimit());
        assertEquals(256, b.options.cpuShares());
        assertEquals(List.of("ALL"), b.options.capDrop());
        assertNull(b.options.network());
        assertEquals(4, b.options.mounts().size());
        assertTrue(b.options.mounts().stream().anyMatch(m -> m instanceof MountSpec.Volume v && "data".equals(v.name())
                && v.readOnly()));
        assertTrue(b.lifecycle.autoRemove() && b.lifecycle.openStdin() && b.lifecycle.stdinOnce());
        assertEquals("SIGUSR1", b.lifecycle.stopSignal());
        assertEquals(3, b.lifecycle.stopTimeout());
        assertEquals(1 << 20, b.lifecycle.log().maxSize());
        assertEquals(3, b.lifecycle.log().maxFile());
    }

    @Test
    void badValuesAreNamed() {
        assertTrue(assertThrows(JsonException.class, () -> read("{\"Image\": \"b\", \"Cmd\": 5}")).getMessage()
                .contains("Cmd"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> read("{\"Cmd\": [\"x\"]}")).getMessage()
                .contains("Image"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> read(
                "{\"Image\": \"b\", \"HostConfig\": {\"RestartPolicy\": {\"Name\": \"always\", \"MaximumRetryCount\": 2}}}"))
                .getMessage().contains("restart policy"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> read(
                "{\"Image\": \"b\", \"HostConfig\": {\"LogConfig\": {\"Type\": \"syslog\"}}}")).getMessage()
                .contains("syslog"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> read(
                "{\"Image\": \"b\", \"HostConfig\": {\"AutoRemove\": true, \"RestartPolicy\": {\"Name\": \"always\"}}}"))
                .getMessage().contains("--rm"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> read(
                "{\"Image\": \"b\", \"StopSignal\": \"SIGNOPE\"}")).getMessage().contains("SIGNOPE"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> read(
                "{\"Image\": \"b\", \"WorkingDir\": \"relative\"}")).getMessage().contains("absolute"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> read(
                "{\"Image\": \"b\", \"Env\": [\"NOVALUE\"]}")).getMessage().contains("NOVALUE"));
    }

    @Test
    void unappliedResourcesAreWarnings() {
        CreateBody b = read("{\"Image\": \"b\", \"HostConfig\": {\"CpusetCpus\": \"0\", \"BlkioWeight\": 0}}");
        assertEquals(1, b.warnings.size(), b.warnings.toString());
        assertTrue(b.warnings.getFirst().contains("CpusetCpus"));
    }

    @Test
    void timesAndDurations() {
        assertEquals(java.time.Instant.ofEpochSecond(1700000000, 500_000_000),
                ContainerRoutes.unixTime("1700000000.5"));
        assertThrows(IllegalArgumentException.class, () -> ContainerRoutes.unixTime("yesterday"));
        assertEquals("Less than a second", ContainerRoutes.humanDuration(java.time.Duration.ofMillis(300)));
        assertEquals("5 seconds", ContainerRoutes.humanDuration(java.time.Duration.ofSeconds(5)));
        assertEquals("About a minute", ContainerRoutes.humanDuration(java.time.Duration.ofSeconds(90)));
        assertEquals("3 hours", ContainerRoutes.humanDuration(java.time.Duration.ofHours(3)));
        assertEquals("3 days", ContainerRoutes.humanDuration(java.time.Duration.ofDays(3)));
    }
}
