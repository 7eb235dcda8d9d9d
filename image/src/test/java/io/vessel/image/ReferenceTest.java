package io.vessel.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReferenceTest {
    private static final String HEX = "a".repeat(64);

    @Test
    void shortNamesAreDockerHubLibraryLatest() {
        Reference r = Reference.parse("busybox");
        assertEquals("docker.io/library/busybox:latest", r.toString());
        assertEquals("busybox:latest", r.familiar());
        assertEquals("library/busybox", r.path());
        assertEquals("latest", r.manifestReference());
    }

    @Test
    void registryWithPortTagAndDigest() {
        Reference r = Reference.parse("127.0.0.1:5000/team/app:v1.2@sha256:" + HEX);
        assertEquals("127.0.0.1:5000", r.domain());
        assertEquals("team/app", r.path());
        assertEquals("v1.2", r.tag());
        assertEquals("sha256:" + HEX, r.manifestReference());
        assertEquals("127.0.0.1:5000/team/app:v1.2@sha256:" + HEX, r.familiar());
    }

    @Test
    void digestOnlyHasNoTag() {
        Reference r = Reference.parse("localhost/app@sha256:" + HEX);
        assertNull(r.tag());
        assertEquals("localhost", r.domain());
        assertEquals("user/app:latest", Reference.parse("user/app").familiar());
        assertEquals("docker.io/library/x:latest", Reference.parse("index.docker.io/x").toString());
    }

    @Test
    void badReferencesNameWhatIsWrong() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reference.parse("Busybox")).getMessage()
                .contains("component \"Busybox\""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reference.parse("a:-x")).getMessage()
                .contains("invalid tag"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reference.parse("a/../b")).getMessage()
                .contains("\"..\""));
        assertThrows(IllegalArgumentException.class, () -> Reference.parse("a@sha256:short"));
        assertThrows(IllegalArgumentException.class, () -> Reference.parse(""));
        assertThrows(IllegalArgumentException.class, () -> Reference.parse("a//b"));
    }

    @Test
    void idsAreNotNames() {
        assertTrue(Reference.looksLikeId("0123456789ab"));
        assertTrue(Reference.looksLikeId("sha256:" + HEX));
        assertTrue(!Reference.looksLikeId("busybox"));
    }
}
