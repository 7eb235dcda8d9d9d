package io.vessel.image.layer;

import java.io.IOException;
import java.util.Random;

/** Test layers for other packages' tests, made with the package-private {@link TarWriter}. */
public final class TestLayers {
    private TestLayers() {
    }

    /** An uncompressed tar with one file of {@code size} random (incompressible) bytes. */
    public static byte[] randomTar(String name, int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return new TarWriter().dir("data/", 0755)
                .entry("data/" + name, '0', 0644, "", data, 0, 0, java.util.Map.of()).finish();
    }

    public static byte[] gzip(byte[] data) throws IOException {
        return TarWriter.gzip(data);
    }
}
