package io.vessel.image.store;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.oci.ImageConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kills a JVM that writes to a store (layers committed, images written, tags set) with SIGKILL at random
 * moments, over and over, and checks after each kill that the store opens and holds everything the child
 * reported done, every blob intact.
 */
class CrashSafetyTest {
    @TempDir
    Path tmp;

    /** The child: commits a layer, writes an image, tags it, prints "done TAG MANIFEST", forever. */
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        String prefix = args[1];
        ImageStore store = ImageStore.open(root);
        for (int i = 0; ; i++) {
            Path upper = Files.createDirectories(root.resolve("work/" + prefix + "-" + i + "/upper"));
            for (int f = 0; f < 20; f++) {
                Files.writeString(upper.resolve("f" + f), (prefix + i + "/" + f + "\n").repeat(200));
            }
            LayerStore.Layer layer = store.commitLayer(upper, null);
            ImageConfig config = ImageStoreTest.config("2024-01-01T00:00:00Z", List.of(layer.diffId()));
            ImageStore.Image img = store.writeImage(config, List.of(layer.blob()), Map.of("n", prefix + i));
            Reference tag = Reference.parse("crash:" + prefix + "-" + i);
            store.tag(tag, img.manifestDescriptor());
            System.out.println("done " + tag + " " + img.manifestDescriptor().digest() + " " + layer.chainId());
            System.out.flush();
        }
    }

    @Test
    void aStoreKilledAtAnyMomentOpensAndLosesNothingStored() throws Exception {
        Path root = tmp.resolve("root");
        Map<String, String[]> done = new HashMap<>();
        Random random = new Random(42);
        String java = ProcessHandle.current().info().command().orElse("java");
        for (int round = 0; round < 8; round++) {
            Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), CrashSafetyTest.class.getName(), root.toString(), "r" + round)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).redirectOutput(tmp.resolve("out" + round).toFile())
                    .start();
            try {
                Thread.sleep(600 + random.nextInt(1500)); // JVM start-up, then some writes
            } finally {
                child.destroyForcibly(); // SIGKILL
                child.waitFor(10, TimeUnit.SECONDS);
            }
            String out = Files.readString(tmp.resolve("out" + round));
            String[] lines = out.split("\n", -1); // the last is empty, or a line the kill cut short
            for (int i = 0; i < lines.length - 1; i++) {
                String[] w = lines[i].split(" ");
                if (w.length == 4 && w[0].equals("done")) {
                    done.put(w[1], w);
                }
            }
            verify(root, done);
        }
        assertTrue(done.size() >= 3, "the children got some work done: " + done.size());
    }

    private static void verify(Path root, Map<String, String[]> done) throws IOException {
        ImageStore store = ImageStore.open(root);
        for (String[] w : done.values()) {
            ImageStore.Image img = store.resolve(w[1]);
            assertEquals(Digest.parse(w[2]), img.manifestDescriptor().digest(), w[1]);
            assertEquals(Digest.parse(w[3]), img.topChainId());
            LayerStore.Layer layer = store.layerStore().get(img.topChainId()).orElseThrow();
            try (Stream<Path> s = Files.list(layer.diff())) {
                assertEquals(20, s.count(), "layer " + layer.chainId() + " is whole");
            }
        }
        for (Digest d : store.blobs().list()) {
            try (InputStream in = store.blobs().open(d)) {
                in.transferTo(OutputStream.nullOutputStream()); // verifies the digest at the end
            }
        }
        store.images();
        store.layers();
        // nothing of a dead process is left in the temp places
        try (Stream<Path> s = Files.list(root.resolve("tmp"))) {
            assertEquals(List.of(), s.toList());
        }
        List<String> layerDirs = new ArrayList<>();
        try (Stream<Path> s = Files.list(root.resolve("layers"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp-") || n.startsWith(".del-"))
                    .forEach(layerDirs::add);
        }
        assertEquals(List.of(), layerDirs);
    }
}
