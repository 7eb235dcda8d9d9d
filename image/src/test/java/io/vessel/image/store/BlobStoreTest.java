package io.vessel.image.store;

import io.vessel.image.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlobStoreTest {
    @TempDir
    Path root;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void putOpenRoundTrip() throws IOException {
        BlobStore store = BlobStore.open(root);
        byte[] data = random(300_000, 1); // several copy buffers
        Digest d = store.put(new ByteArrayInputStream(data), Digest.of(data), data.length);
        assertEquals(Digest.of(data), d);
        assertTrue(store.exists(d));
        assertEquals(data.length, store.size(d));
        assertEquals(root.resolve("blobs/sha256/" + d.hex()), store.path(d));
        try (InputStream in = store.open(d)) {
            assertArrayEquals(data, in.readAllBytes());
        }
        assertEquals(List.of(d), store.list());
        assertEquals(List.of(), files(root.resolve("tmp")));

        Digest unverified = store.put(new ByteArrayInputStream(bytes("abc")), null, -1);
        assertEquals(Digest.of(bytes("abc")), unverified);
        assertArrayEquals(bytes("abc"), store.read(unverified));
        assertEquals(2, store.list().size());

        store.delete(d);
        assertFalse(store.exists(d));
        store.delete(d); // idempotent
        assertEquals(List.of(unverified), store.list());
        assertThrows(NoSuchFileException.class, () -> store.open(d));
        assertThrows(NoSuchFileException.class, () -> store.size(d));
    }

    @Test
    void sha512Blobs() throws IOException {
        BlobStore store = BlobStore.open(root);
        Digest expected = Digest.of(Digest.SHA512, bytes("abc"));
        assertEquals(expected, store.put(new ByteArrayInputStream(bytes("abc")), expected, 3));
        assertTrue(Files.isRegularFile(root.resolve("blobs/sha512/" + expected.hex())));
        assertArrayEquals(bytes("abc"), store.read(expected));
    }

    @Test
    void wrongDigestLeavesNothing() throws IOException {
        BlobStore store = BlobStore.open(root);
        Digest promised = Digest.of(bytes("something else"));
        VerificationException e = assertThrows(VerificationException.class,
                () -> store.put(new ByteArrayInputStream(bytes("abc")), promised, -1));
        assertTrue(e.getMessage().contains("expected " + promised), e.getMessage());
        assertTrue(e.getMessage().contains("got " + Digest.of(bytes("abc"))), e.getMessage());
        assertEquals(List.of(), files(root.resolve("blobs")));
        assertEquals(List.of(), files(root.resolve("tmp")));
    }

    @Test
    void wrongSizeLeavesNothing() throws IOException {
        BlobStore store = BlobStore.open(root);
        Digest d = Digest.of(bytes("abc"));
        VerificationException shorter = assertThrows(VerificationException.class,
                () -> store.put(new ByteArrayInputStream(bytes("abc")), d, 4));
        assertTrue(shorter.getMessage().contains("expected 4 bytes, got 3"), shorter.getMessage());
        VerificationException longer = assertThrows(VerificationException.class,
                () -> store.put(new ByteArrayInputStream(bytes("abc")), null, 2));
        assertTrue(longer.getMessage().contains("expected 2 bytes, got more"), longer.getMessage());
        assertEquals(List.of(), files(root.resolve("blobs")));
        assertEquals(List.of(), files(root.resolve("tmp")));
    }

    @Test
    void failingSourceLeavesNothing() throws IOException {
        BlobStore store = BlobStore.open(root);
        InputStream broken = new InputStream() {
            private int n;

            @Override
            public int read() throws IOException {
                if (n++ > 10) {
                    throw new IOException("connection reset");
                }
                return 'x';
            }
        };
        assertThrows(IOException.class, () -> store.put(broken, null, -1));
        assertEquals(List.of(), files(root.resolve("blobs")));
        assertEquals(List.of(), files(root.resolve("tmp")));
    }

    @Test
    void corruptionOnDiskIsDetectedOnRead() throws IOException {
        BlobStore store = BlobStore.open(root);
        byte[] data = random(100_000, 2);
        Digest d = store.put(new ByteArrayInputStream(data), null, -1);
        byte[] damaged = data.clone();
        damaged[50_000] ^= 1;
        Files.write(store.path(d), damaged);

        InputStream in = store.open(d);
        VerificationException e = assertThrows(VerificationException.class, in::readAllBytes);
        assertTrue(e.getMessage().contains(d.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(store.path(d).toString()), e.getMessage());
        assertThrows(VerificationException.class, in::read, "the verdict sticks");
        in.close();

        try (InputStream skipping = store.open(d)) {
            skipping.skipNBytes(data.length); // skipped bytes are hashed too
            assertThrows(VerificationException.class, skipping::read);
        }
        // a put of the right content repairs a damaged copy of another size
        Files.write(store.path(d), new byte[] {1, 2, 3});
        store.put(new ByteArrayInputStream(data), d, data.length);
        assertArrayEquals(data, store.read(d));
    }

    @Test
    void idempotentPut() throws IOException {
        BlobStore store = BlobStore.open(root);
        Digest d = store.put(new ByteArrayInputStream(bytes("layer")), null, -1);
        long inode = (long) Files.getAttribute(store.path(d), "unix:ino");
        assertEquals(d, store.put(new ByteArrayInputStream(bytes("layer")), d, 5));
        assertEquals(inode, (long) Files.getAttribute(store.path(d), "unix:ino"), "the stored file is kept");
        assertEquals(List.of(d), store.list());
        assertEquals(List.of(), files(root.resolve("tmp")));
    }

    @Test
    void concurrentPutsOfTheSameBlob() throws Exception {
        BlobStore store = BlobStore.open(root);
        byte[] data = random(1 << 20, 3);
        Digest expected = Digest.of(data);
        int threads = 8;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Future<Digest>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                BlobStore own = i % 2 == 0 ? store : BlobStore.open(root); // several stores on one root too
                Callable<Digest> put = () -> {
                    start.await();
                    return own.put(new ByteArrayInputStream(data), expected, data.length);
                };
                results.add(pool.submit(put));
            }
            for (Future<Digest> f : results) {
                assertEquals(expected, f.get());
            }
        }
        assertArrayEquals(data, store.read(expected));
        assertEquals(List.of(expected), store.list());
        assertEquals(List.of(), files(root.resolve("tmp")));
    }

    @Test
    void openRemovesLeftoversOfDeadWritersButNotBlobs() throws IOException {
        BlobStore store = BlobStore.open(root);
        Digest d = store.put(new ByteArrayInputStream(bytes("kept")), null, -1);
        Path tmp = root.resolve("tmp");
        // a "crash" mid-put: a partial temp file of a process that is gone
        long deadPid = deadPid();
        Path partial = tmp.resolve(deadPid + "-0b1e5d2c.partial");
        Files.write(partial, bytes("kep"));
        Path stray = tmp.resolve("garbage");
        Files.write(stray, bytes("?"));
        // an in-flight put of this live process must survive another store's open
        Path inFlight = tmp.resolve(ProcessHandle.current().pid() + "-inflight.partial");
        Files.write(inFlight, bytes("k"));

        BlobStore reopened = BlobStore.open(root);
        assertFalse(Files.exists(partial));
        assertFalse(Files.exists(stray));
        assertTrue(Files.exists(inFlight));
        assertEquals(List.of(d), reopened.list());
        assertArrayEquals(bytes("kept"), reopened.read(d));
        Files.delete(inFlight);
    }

    @Test
    void storeWithoutDirectoriesLoads() throws IOException {
        Path fresh = root.resolve("new/store");
        BlobStore store = BlobStore.open(fresh);
        assertTrue(Files.isDirectory(fresh.resolve("blobs/sha256")));
        assertTrue(Files.isDirectory(fresh.resolve("tmp")));
        assertEquals(List.of(), store.list());
        Files.write(fresh.resolve("blobs/sha256/not-a-digest"), bytes("x"));
        assertEquals(List.of(), store.list());
    }

    @Test
    void tempFileNames() {
        assertEquals(42, BlobStore.ownerPid("42-abc.partial"));
        assertEquals(-1, BlobStore.ownerPid("42-abc"));
        assertEquals(-1, BlobStore.ownerPid("x-abc.partial"));
        assertEquals(-1, BlobStore.ownerPid("-abc.partial"));
    }

    /** A pid no live process has: the highest possible one, checked. */
    private static long deadPid() {
        for (long pid = 4_194_303; pid > 1; pid--) {
            if (ProcessHandle.of(pid).isEmpty()) {
                return pid;
            }
        }
        throw new IllegalStateException("no free pid");
    }
}
