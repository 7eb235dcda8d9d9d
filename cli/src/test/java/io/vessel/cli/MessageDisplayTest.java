package io.vessel.cli;

import io.vessel.json.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Docker's pull messages as the CLI shows them: lines redrawn in place on a terminal, state changes only elsewhere. */
class MessageDisplayTest {
    private static final String[] PULL = {
        "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}",
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaa\"}",
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"bbb\"}",
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":500,\"total\":1000},\"id\":\"aaa\"}",
        "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"aaa\"}",
        "{\"status\":\"Digest: sha256:abc\"}",
    };

    private static String show(boolean ansi) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        MessageDisplay d = new MessageDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8), ansi, false);
        for (String m : PULL) {
            d.accept(JsonNode.parse("message", m));
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void plainOutputHasOneLinePerStateAndNoBars() {
        assertEquals("""
                latest: Pulling from library/busybox
                aaa: Pulling fs layer
                bbb: Pulling fs layer
                aaa: Download complete
                Digest: sha256:abc
                """, show(false));
    }

    @Test
    void aTerminalGetsBarsRedrawnInPlace() {
        String out = show(true);
        // below the last line (bbb), aaa is two lines up
        assertTrue(out.contains("\033[2A\r\033[2Kaaa: Downloading [========================>                         ]  500B/1kB\r\033[2B"),
                out.replace("\033", "ESC"));
        assertTrue(out.contains("\033[2A\r\033[2Kaaa: Download complete\r\033[2B"), out.replace("\033", "ESC"));
        assertTrue(out.endsWith("Digest: sha256:abc\n"), out);
    }

    @Test
    void buildStreamAndAuxId() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        MessageDisplay d = new MessageDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, true);
        d.accept(JsonNode.parse("m", "{\"stream\":\"Step 1/2 : FROM busybox\\n\"}"));
        d.accept(JsonNode.parse("m", "{\"aux\":{\"ID\":\"sha256:123\"}}"));
        assertEquals("", bytes.toString(StandardCharsets.UTF_8), "quiet prints nothing");
        assertEquals("sha256:123", d.auxId());
    }
}
