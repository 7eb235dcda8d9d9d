package io.vessel.image.store;

import io.vessel.image.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Partial downloads survive open() and are adopted into the store only when they verify. */
class BlobStoreAdoptTest {
    @TempDir
    Path root;

    @Test
    void adoptVerifiesAndMoves() throws Exception {
        BlobStore store = BlobStore.open(root);
        byte[] data = "layer bytes".getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.of(data);
        Path partial = store.partialPath(d);
        assertEquals(root.resolve("downloads/sha256-" + d.hex() + ".partial"), partial);
        Files.createDirectories(partial.getParent());
        Files.write(partial, data);
        BlobStore.open(root); // a new process's open keeps downloads
        assertTrue(Files.exists(partial));
        assertEquals(d, store.adopt(partial, d, data.length));
        assertFalse(Files.exists(partial));
        assertArrayEquals(data, store.read(d));

        Digest other = Digest.of("other".getBytes(StandardCharsets.UTF_8));
        Path bad = store.partialPath(other);
        Files.write(bad, data);
        VerificationException e = assertThrows(VerificationException.class, () -> store.adopt(bad, other, data.length));
        assertTrue(e.getMessage().contains(other.toString()), e.getMessage());
        assertFalse(Files.exists(bad));
        assertFalse(store.exists(other));
        Files.write(bad, data);
        e = assertThrows(VerificationException.class, () -> store.adopt(bad, d, 3));
        assertTrue(e.getMessage().contains("expected 3 bytes, got " + data.length), e.getMessage());
    }
}
