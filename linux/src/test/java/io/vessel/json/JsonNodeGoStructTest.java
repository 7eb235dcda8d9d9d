package io.vessel.json;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link JsonNode#goStruct}: request bodies read as dockerd's Go decoder reads them. */
class JsonNodeGoStructTest {
    @Test
    void namesMatchIgnoringCaseUnknownOnesAreDroppedAndTheLaterWins() {
        JsonNode body = JsonNode.parse("network create",
                "{\"Name\": \"n\", \"EnableIPv6\": null, \"enableIPv6\": true, \"NoSuchField\": 1, \"labels\": {\"a\": \"b\"}}")
                .goStruct("Name", "EnableIPv6", "Labels");
        assertEquals(List.of("Name", "EnableIPv6", "Labels"), body.keys());
        assertTrue(body.get("EnableIPv6").bool(false), "the null did not unset it, the lower-case member set it");
        assertEquals("b", body.get("Labels").stringMap().get("a"));
        assertFalse(body.get("NoSuchField").present());

        JsonNode later = JsonNode.parse("x", "{\"internal\": true, \"Internal\": false}").goStruct("Internal");
        assertFalse(later.get("Internal").bool(true));
    }

    @Test
    void absentStaysAbsentAndErrorsKeepTheirPath() {
        JsonNode root = JsonNode.parse("network connect", "{\"EndpointConfig\": {\"aliases\": 5}}");
        assertFalse(root.get("Missing").goStruct("A").present());
        JsonNode ec = root.get("EndpointConfig").goStruct("Aliases");
        JsonException e = assertThrows(JsonException.class, () -> ec.get("Aliases").stringList());
        assertTrue(e.getMessage().contains("EndpointConfig.Aliases"), e.getMessage());
        assertThrows(JsonException.class, () -> JsonNode.parse("x", "{\"a\": 1}").get("a").goStruct("B"));
    }
}
