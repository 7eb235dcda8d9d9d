package io.vessel.runtime.spec;

import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.runtime.cli.DefaultSpec;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** config.json validation: every error names the field that is wrong. */
class SpecTest {
    @SuppressWarnings("unchecked")
    static String config(Consumer<Map<String, Object>> edit) {
        Map<String, Object> spec = (Map<String, Object>) Json.parse(Json.write(DefaultSpec.create(false)));
        edit.accept(spec);
        return Json.write(spec);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> m(Map<String, Object> s, String k) {
        return (Map<String, Object>) s.computeIfAbsent(k, x -> new LinkedHashMap<>());
    }

    static void fails(String expected, Consumer<Map<String, Object>> edit) {
        JsonException e = assertThrows(JsonException.class, () -> Spec.parse(config(edit)));
        assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
    }

    @Test
    void theDefaultSpecParses() {
        Spec s = Spec.parse(config(x -> { }));
        assertEquals(List.of("sh"), s.process().args());
        assertEquals("rootfs", s.root().path());
        assertEquals(7, s.mounts().size());
        assertTrue(s.root().readonly());
        assertEquals("CAP_KILL", s.process().capabilities().bounding().get(1));
    }

    @Test
    void errorsNameTheField() {
        fails("config.json: ociVersion must be a 1.x version", s -> s.put("ociVersion", "2.0.0"));
        fails("config.json: process.args must name the program to run", s -> m(s, "process").put("args", List.of()));
        fails("config.json: process.cwd must be an absolute path", s -> m(s, "process").put("cwd", "tmp"));
        fails("config.json: process.env[0] must have the form NAME=VALUE", s -> m(s, "process").put("env", List.of("X")));
        fails("config.json: process.capabilities.bounding[0] is not a known capability: \"CAP_FLY\"",
                s -> m(m(s, "process"), "capabilities").put("bounding", List.of("CAP_FLY")));
        fails("config.json: process.rlimits[0].soft must not exceed hard",
                s -> m(s, "process").put("rlimits", List.of(Map.of("type", "RLIMIT_NOFILE", "soft", 10, "hard", 5))));
        fails("config.json: process.rlimits[0].type is not a known rlimit",
                s -> m(s, "process").put("rlimits", List.of(Map.of("type", "RLIMIT_X", "soft", 1, "hard", 5))));
        fails("config.json: linux.namespaces[1].type \"pid\" is given twice",
                s -> m(s, "linux").put("namespaces", List.of(Map.of("type", "pid"), Map.of("type", "pid"))));
        fails("config.json: linux.namespaces[0].type is not a namespace type: \"pids\"",
                s -> m(s, "linux").put("namespaces", List.of(Map.of("type", "pids"))));
        fails("config.json: linux.uidMappings[0].size must be > 0",
                s -> m(s, "linux").put("uidMappings", List.of(Map.of("containerID", 0, "hostID", 1, "size", 0))));
        fails("config.json: linux.uidMappings needs a user namespace",
                s -> m(s, "linux").put("uidMappings", List.of(Map.of("containerID", 0, "hostID", 1, "size", 1))));
        fails("config.json: hostname needs a new uts namespace",
                s -> m(s, "linux").put("namespaces", List.of(Map.of("type", "mount"))));
        fails("config.json: mounts[0].destination must not contain \"..\"",
                s -> s.put("mounts", List.of(Map.of("destination", "/a/../b", "type", "tmpfs"))));
        fails("config.json: linux.devices[0].path must be under /dev",
                s -> m(s, "linux").put("devices", List.of(Map.of("type", "c", "path", "/etc/x", "major", 1, "minor", 3))));
        fails("config.json: linux.resources.cpu.cpus must be a CPU list",
                s -> m(m(s, "linux"), "resources").put("cpu", Map.of("cpus", "all")));
        fails("config.json: linux.seccomp.defaultAction is not a seccomp action",
                s -> m(s, "linux").put("seccomp", Map.of("defaultAction", "ALLOW")));
        fails("config.json: linux.sysctl.net.ipv4.ip_forward is not namespaced",
                s -> {
                    m(s, "linux").put("namespaces", List.of(Map.of("type", "mount"), Map.of("type", "uts")));
                    m(s, "linux").put("sysctl", Map.of("net.ipv4.ip_forward", "1"));
                });
        fails("config.json: root.path is required", s -> s.put("root", Map.of()));
        JsonException e = assertThrows(JsonException.class, () -> Spec.parse("{\"ociVersion\": "));
        assertTrue(e.getMessage().startsWith("config.json: invalid JSON at line 1"), e.getMessage());
    }
}
