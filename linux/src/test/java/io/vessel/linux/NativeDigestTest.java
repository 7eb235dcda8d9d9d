package io.vessel.linux;

import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativeDigestTest {
    @Test
    void libcryptoAgreesWithTheJdkOnSlicesOfEverySize() throws Exception {
        assertTrue(NativeDigest.sha256().isPresent(), "libcrypto.so.3 (Debian's libssl3) is installed here");
        byte[] data = new byte[200_000];
        new Random(5).nextBytes(data);
        NativeDigest.Context sha256 = NativeDigest.sha256().orElseThrow();
        NativeDigest.Context sha512 = NativeDigest.sha512().orElseThrow();
        for (int[] slice : new int[][] {{0, 0}, {0, 1}, {3, 63}, {7, 64}, {1, 65_537}, {100, 199_900}}) {
            for (int round = 0; round < 2; round++) { // and again after the reset that digest() does
                sha256.update(data, slice[0], slice[1]);
                sha512.update(data, slice[0], slice[1]);
                assertArrayEquals(jdk("SHA-256", data, slice[0], slice[1]), sha256.digest());
                assertArrayEquals(jdk("SHA-512", data, slice[0], slice[1]), sha512.digest());
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> sha256.update(data, 199_999, 2));
    }

    private static byte[] jdk(String algorithm, byte[] data, int offset, int length) throws Exception {
        MessageDigest md = MessageDigest.getInstance(algorithm);
        md.update(data, offset, length);
        return md.digest();
    }
}
