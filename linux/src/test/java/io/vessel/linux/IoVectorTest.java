package io.vessel.linux;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IoVectorTest {
    @TempDir
    Path dir;

    @Test
    void scattersAndGathersOneFileRangeOverSeveralBuffers() throws Exception {
        byte[] content = new byte[64 * 1024];
        new Random(1).nextBytes(content);
        Path file = java.nio.file.Files.write(dir.resolve("f"), content);
        try (Arena arena = Arena.ofConfined(); IoVector v = new IoVector(8);
             Fd fd = Files.open(file.toString(), Files.O_RDWR | Files.O_CLOEXEC, 0)) {
            MemorySegment a = arena.allocate(1000);
            MemorySegment b = arena.allocate(24);
            MemorySegment c = arena.allocate(3000);
            v.add(a);
            v.add(arena.allocate(0)); // skipped
            v.add(b.address(), b.byteSize());
            v.add(c);
            assertEquals(3, v.count());
            assertEquals(4024, v.bytes());
            assertEquals(4024, v.readFully(fd.num(), 100));
            assertArrayEquals(Arrays.copyOfRange(content, 100, 1100), a.toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(Arrays.copyOfRange(content, 1100, 1124), b.toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(Arrays.copyOfRange(content, 1124, 4124), c.toArray(ValueLayout.JAVA_BYTE));

            // the same buffers written back elsewhere, then read across the end of the file
            v.clear();
            v.add(a);
            v.add(b);
            v.add(c);
            v.writeFully(fd.num(), 60 * 1024);
            byte[] now = java.nio.file.Files.readAllBytes(file);
            assertEquals(64 * 1024, now.length);
            assertArrayEquals(Arrays.copyOfRange(content, 100, 4124), Arrays.copyOfRange(now, 60 * 1024, 60 * 1024 + 4024));
            v.clear();
            v.add(a);
            v.add(b);
            v.add(c);
            assertEquals(1000 + 24 + 76, v.readFully(fd.num(), 64 * 1024 - 1100), "short only at the end of the file");
        }
    }

    @Test
    void refusesWhatIsNotAnIovec() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> new IoVector(0));
        assertThrows(IllegalArgumentException.class, () -> new IoVector(IoVector.IOV_MAX + 1));
        try (IoVector v = new IoVector(1); Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> v.add(MemorySegment.ofArray(new byte[8])));
            v.add(arena.allocate(8));
            assertTrue(v.isFull());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> v.add(arena.allocate(8)));
            assertTrue(e.getMessage().contains("full"), e.getMessage());
        }
    }

    @Test
    void namesTheCallAndErrnoOnFailure() throws Exception {
        try (IoVector v = new IoVector(1); Arena arena = Arena.ofConfined()) {
            v.add(arena.allocate(16));
            ErrnoException e = assertThrows(ErrnoException.class, () -> v.readFully(-1, 0));
            assertEquals(Errno.EBADF, e.errno());
            assertTrue(e.getMessage().startsWith("preadv(-1, 1 buffers of 16 bytes at 0)"), e.getMessage());
        }
    }
}
