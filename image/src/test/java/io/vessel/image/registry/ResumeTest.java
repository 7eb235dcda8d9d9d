package io.vessel.image.registry;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.Platform;
import io.vessel.image.registry.ProgressListener.ProgressEvent;
import io.vessel.image.registry.ProgressListener.State;
import io.vessel.image.registry.TestImages.TestImage;
import io.vessel.image.store.BlobStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A pull killed halfway (SIGKILL of its JVM) continues from its partial file with a Range request. */
class ResumeTest {
    @TempDir
    Path tmp;

    @Test
    void killedPullResumesWithRange() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (scripts/install-deps.sh --test)");
        try (LocalRegistry registry = LocalRegistry.start("")) {
            BlobStore src = BlobStore.open(tmp.resolve("src"));
            TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 21, 4 << 20, 2_000);
            Descriptor big = img.layers().get(0);
            String ref = registry.host() + "/resume/app:1";
            Path config = tmp.resolve("docker/config.json");
            try (RegistryClient c = new RegistryClient(RegistryConfig.of(new CredentialStore(config)))) {
                c.push(Reference.parse(ref), img.manifest(), src, ProgressListener.NONE, Map.of());
            }

            Path storeRoot = tmp.resolve("dst");
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Process child = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                    PullChild.class.getName(), ref, storeRoot.toString(), config.toString(), "300")
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
            BlobStore probe = BlobStore.open(storeRoot);
            Path partial = probe.partialPath(big.digest());
            long kept;
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!(Files.exists(partial) && Files.size(partial) > 0)) {
                    assertTrue(child.isAlive(), () -> "child ended before downloading: " + read(tmp.resolve("child.log")));
                    assertTrue(System.nanoTime() < deadline, "no partial download after 60s");
                    Thread.sleep(20);
                }
            } finally {
                child.destroyForcibly(); // SIGKILL
                child.waitFor();
            }
            kept = Files.size(partial);
            assertTrue(kept > 0 && kept < big.size(), "kept " + kept + " of " + big.size());
            assertFalse(probe.exists(big.digest()));

            BlobStore dst = BlobStore.open(storeRoot);
            List<ProgressEvent> events = new CopyOnWriteArrayList<>();
            try (RegistryClient c = new RegistryClient(RegistryConfig.of(new CredentialStore(config)))) {
                c.pull(Reference.parse(ref), Platform.LINUX_AMD64, dst, events::add);
            }
            String id = big.digest().hex().substring(0, 12);
            ProgressEvent first = events.stream().filter(e -> e.id().equals(id) && e.state() == State.DOWNLOADING)
                    .findFirst().orElseThrow();
            assertTrue(first.current() >= kept, "resumed at " + first.current() + ", kept " + kept);
            assertEquals(1, registry.requests("GET", "resume/app/blobs/" + big.digest(), 206), registry.log());
            assertFalse(Files.exists(partial));

            BlobStore reopened = BlobStore.open(storeRoot);
            for (Digest d : img.blobs()) {
                try (InputStream in = reopened.open(d)) {
                    assertArrayEquals(src.read(d), in.readAllBytes(), "blob " + d);
                }
            }
            assertEquals(List.of(), files(storeRoot.resolve("tmp")));
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    private static List<Path> files(Path dir) throws java.io.IOException {
        try (var s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }
}
