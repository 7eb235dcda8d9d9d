package io.vessel.json;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {
    @Test
    void parsesEveryKindOfValue() {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null, \"x\\n\\u00e9\\\"\"], \"big\": 18446744073709551615} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of(1L, -2L, 3.5, 1000.0, true, false, "x\né\""), ((List<?>) m.get("a")).stream()
                .filter(java.util.Objects::nonNull).toList());
        assertEquals(new BigInteger("18446744073709551615"), m.get("big"));
    }

    @Test
    void roundTripsThroughTheWriter() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "quote \" backslash \\ tab \t ctl \u0001");
        m.put("n", List.of(1, 2L, 3.25));
        m.put("b", true);
        m.put("z", null);
        assertEquals(m.toString(), Json.parse(Json.write(m)).toString().replace("=1,", "=1,"));
        assertEquals(Json.write(m), Json.write(Json.parse(Json.writePretty(m))));
    }

    @Test
    void rejectsMalformedInputWithThePlace() {
        for (String bad : List.of("", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "tru", "\"\\x\"", "[1] 2",
                "{\"a\":1,\"a\":2}", "\"\u0001\"", "-")) {
            JsonException e = assertThrows(JsonException.class, () -> Json.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("invalid JSON at line 1, column "), e.getMessage());
        }
    }

    @Test
    void refusesNestingThatWouldExhaustTheStack() {
        String deep = "[".repeat(100_000);
        assertThrows(JsonException.class, () -> Json.parse(deep));
    }

    @Test
    void nodesNameTheFieldInErrors() {
        JsonNode n = JsonNode.parse("config.json", "{\"linux\":{\"uidMappings\":[{\"size\":\"x\"}]}}");
        JsonException e = assertThrows(JsonException.class,
                () -> n.get("linux").get("uidMappings").elements().get(0).get("size").longValue());
        assertEquals("config.json: linux.uidMappings[0].size must be an integer in the signed 64-bit range",
                e.getMessage());
        assertEquals("config.json: process.args is required",
                assertThrows(JsonException.class, () -> n.get("process").get("args").string()).getMessage());
        assertEquals(7, n.get("absent").longValue(7));
    }

    @Test
    void unsignedValuesUseAllSixtyFourBits() {
        JsonNode n = JsonNode.parse("x", "{\"v\": 18446744073709551615, \"neg\": -1}");
        assertEquals(-1L, n.get("v").unsigned());
        assertThrows(JsonException.class, () -> n.get("neg").unsigned());
    }
}
