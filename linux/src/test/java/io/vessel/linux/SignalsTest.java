package io.vessel.linux;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SignalsTest {
    @Test
    void parsesNamesAndNumbersAsKillDoes() {
        assertEquals(9, Signals.parse("9"));
        assertEquals(9, Signals.parse("KILL"));
        assertEquals(9, Signals.parse("SIGKILL"));
        assertEquals(15, Signals.parse("sigterm"));
        assertEquals(34, Signals.parse("RTMIN"));
        assertEquals(37, Signals.parse("RTMIN+3"));
        assertEquals(62, Signals.parse("RTMAX-2"));
        assertEquals("SIGHUP", Signals.name(1));
        for (String bad : new String[]{"0", "65", "FOO", "RTMIN+40", ""}) {
            assertThrows(IllegalArgumentException.class, () -> Signals.parse(bad), bad);
        }
    }
}
