package io.vessel.engine.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExpanderTest {
    private static final Map<String, String> VARS = Map.of("V", "val", "EMPTY", "", "SP", "a b");

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '~', value = {
            "$V|val",
            "${V}|val",
            "x${V}y|xvaly",
            "$V.txt|val.txt",
            "$UNSET|''",
            "a$UNSET/b|a/b",
            "${UNSET:-def}|def",
            "${EMPTY:-def}|def",
            "${V:-def}|val",
            "${UNSET-def}|def",
            "${EMPTY-def}|''",
            "${V:+alt}|alt",
            "${EMPTY:+alt}|''",
            "${UNSET:+alt}|''",
            "${EMPTY+alt}|alt",
            "${UNSET+alt}|''",
            "${UNSET:-$V}|val",
            "${UNSET:-${V:+nested}}|nested",
            "\\$V|$V",
            "\\${V}|${V}",
            "'$V'|$V",
            "\"$V\"|val",
            "\"a \\\"q\\\" $SP\"|a \"q\" a b",
            "\"\\x\"|\\x",
            "a\\ b|a b",
            "$|$",
            "$1|$1",
            "cost: $ 5|cost: $ 5",
            "~'it''s'~|its",
            "${V}${V}|valval",
    })
    void expands(String word, String expected) {
        String want = expected.equals("''") ? "" : expected;
        assertEquals(want, new Expander('\\', VARS::get).word(word));
    }

    @ParameterizedTest(name = "backtick: {0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "`$V|$V",
            "c:\\dir|c:\\dir",
            "$V\\x|val\\x",
    })
    void backtickEscape(String word, String expected) {
        assertEquals(expected, new Expander('`', VARS::get).word(word));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '~', value = {
            "'open|unterminated single quote in \"'open\"",
            "\"open|unterminated double quote in \"\"open\"",
            "${V|missing '}' in \"${V\"",
            "${}|bad substitution: no variable name after '${' in \"${}\"",
            "${V#x}|unsupported modifier '#' in ${V} in \"${V#x}\" (supported: - + ? with or without ':')",
            "${UNSET:?must be set}|UNSET: must be set",
            "${EMPTY:?}|EMPTY: is not set",
    })
    void refuses(String word, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Expander('\\', VARS::get).word(word));
        assertEquals(message, e.getMessage());
    }
}
