package io.vessel.engine.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DockerIgnoreTest {
    @ParameterizedTest(name = "{0} on {1}: excluded={2}")
    @CsvSource(delimiter = '|', value = {
            "foo|foo|true",
            "foo|foo/bar|true",          // a matching directory excludes what is below it
            "foo|a/foo|false",
            "/foo|foo|true",             // a leading slash is dropped
            "./foo/../bar|bar|true",     // patterns are cleaned
            "*.go|a.go|true",
            "*.go|dir/a.go|false",       // * stays within one element
            "*/*.go|dir/a.go|true",
            "**/*.go|a.go|true",         // ** matches no element too
            "**/*.go|x/y/z/a.go|true",
            "dir/**|dir/a/b|true",
            "dir/**|dir|false",
            "**|anything/at/all|true",
            "a/**/b|a/b|true",
            "a/**/b|a/x/y/b|true",
            "a/**/b|a/x/y/c|false",
            "?.txt|a.txt|true",
            "?.txt|ab.txt|false",
            "[a-c].txt|b.txt|true",
            "[a-c].txt|d.txt|false",
            "[^a-c].txt|d.txt|true",
            "f\\*o|f*o|true",
            "f\\*o|fxo|false",
            "a.b|axb|false",             // dots are literal
    })
    void table(String pattern, String path, boolean excluded) {
        assertEquals(excluded, DockerIgnore.parse(pattern).excluded(path));
    }

    @Test
    void exceptionsAndLastMatchWins() {
        DockerIgnore ig = DockerIgnore.parse("""
                # comment
                  *.md \s
                !README.md
                docs
                !docs/keep
                README*.md
                !README-keep.md
                """);
        assertTrue(ig.excluded("notes.md"));
        assertTrue(ig.excluded("README.md"));           // re-excluded by README*.md, the last match
        assertFalse(ig.excluded("README-keep.md"));
        assertTrue(ig.excluded("docs/a.txt"));
        assertFalse(ig.excluded("docs/keep"));
        assertFalse(ig.excluded("docs/keep/inner"));
        assertFalse(ig.excluded("src/main.c"));
        assertTrue(ig.exceptionsBelow("docs"));
        assertFalse(ig.exceptionsBelow("src"));
    }

    @Test
    void badPatternsNameTheirLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DockerIgnore.parse("ok\n[abc\n"));
        assertEquals(".dockerignore:2: unterminated character class in \"[abc\"", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DockerIgnore.parse("!\n"));
        assertEquals(".dockerignore:1: \"!\" without a pattern", e.getMessage());
    }
}
