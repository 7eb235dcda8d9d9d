package io.vessel.cli;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code -p} into the API's ExposedPorts and PortBindings, as the docker CLI sends them. */
class RunBodyTest {
    private final Map<String, Object> exposed = new LinkedHashMap<>();
    private final Map<String, List<Map<String, String>>> bindings = new LinkedHashMap<>();

    private Map<String, List<Map<String, String>>> publish(String... specs) throws UsageError {
        for (String s : specs) {
            RunBody.publish(s, exposed, bindings);
        }
        return bindings;
    }

    private static List<Map<String, String>> one(String ip, String port) {
        return List.of(Map.of("HostIp", ip, "HostPort", port));
    }

    @Test
    void singlePortsAndRanges() throws UsageError {
        assertEquals(Map.of("8080/tcp", one("", "80")), publish("80:8080"));
        bindings.clear();
        assertEquals(Map.of("80/tcp", one("", ""), "81/tcp", one("", "")), publish("80-81"));
        bindings.clear();
        assertEquals(Map.of("80/udp", one("127.0.0.1", "8000"), "81/udp", one("127.0.0.1", "8001")),
                publish("127.0.0.1:8000-8001:80-81/udp"));
        bindings.clear();
        // a host range for one container port goes to the daemon as it is: it chooses a free port in it
        assertEquals(Map.of("90/tcp", one("", "8000-8010")), publish("8000-8010:90"));
        assertTrue(exposed.keySet().containsAll(List.of("8080/tcp", "80/tcp", "81/tcp", "80/udp", "81/udp", "90/tcp")));
    }

    @Test
    void badSpecsNameWhatIsWrong() {
        assertTrue(assertThrows(UsageError.class, () -> publish("8000-8001:80-82")).getMessage()
                .contains("as many ports"));
        assertTrue(assertThrows(UsageError.class, () -> publish("81-80")).getMessage().contains("81-80"));
        assertTrue(assertThrows(UsageError.class, () -> publish("0:80")).getMessage().contains("1-65535"));
        assertTrue(assertThrows(UsageError.class, () -> publish("x:80")).getMessage().contains("host port"));
        assertTrue(assertThrows(UsageError.class, () -> publish("80/icmp")).getMessage().contains("protocol"));
    }
}
