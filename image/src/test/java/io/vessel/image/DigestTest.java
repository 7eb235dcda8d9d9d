package io.vessel.image;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DigestTest {
    static final String EMPTY_SHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static final String ABC_SHA256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static final String ABC_SHA512 = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    @Test
    void knownDigests() {
        assertEquals(EMPTY_SHA256, Digest.of(new byte[0]).toString());
        assertEquals(ABC_SHA256, Digest.of("abc".getBytes(StandardCharsets.US_ASCII)).toString());
        assertEquals(ABC_SHA512, Digest.of(Digest.SHA512, "abc".getBytes(StandardCharsets.US_ASCII)).toString());
    }

    @Test
    void parseRoundTrip() {
        Digest d = Digest.parse(ABC_SHA256);
        assertEquals("sha256", d.algorithm());
        assertEquals(ABC_SHA256.substring(7), d.hex());
        assertEquals(ABC_SHA256, d.toString());
        assertEquals(d, Digest.parse(d.toString()));
        assertEquals(ABC_SHA512, Digest.parse(ABC_SHA512).toString());
    }

    @Test
    void streamingDigesterMatchesOneShot() {
        Digester d = Digester.sha256();
        d.update("a".getBytes(StandardCharsets.US_ASCII));
        d.update("xbcx".getBytes(StandardCharsets.US_ASCII), 1, 2);
        assertEquals(3, d.size());
        assertEquals(ABC_SHA256, d.digest().toString());
        assertEquals(EMPTY_SHA256, d.digest().toString(), "digest() resets");
    }

    @Test
    void badInputs() {
        for (String bad : new String[] {"", "sha256", "sha256:", ":abc", "sha256:xyz", "SHA256:" + "a".repeat(64),
                "sha256:" + "A".repeat(64), "sha256:" + "a".repeat(63), "sha256:" + "a".repeat(65),
                "sha512:" + "a".repeat(64), " sha256:" + "a".repeat(64)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Digest.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("not a digest: "), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Digest.parse("md5:d41d8cd98f00b204e9800998ecf8427e"));
        assertTrue(e.getMessage().startsWith("unsupported algorithm \"md5\""), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Digest.parse(null));
        assertThrows(IllegalArgumentException.class, () -> Digester.of("md5"));
    }
}
