package io.vessel.runtime.container;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers see the old content or the new one, never a part: temp file,
 * (fsync,) rename. The runtime's own state needs no fsync: it lives in /run, which does not
 * outlive a reboot, and a crash of the runtime itself cannot tear a renamed file.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    /** Atomic for readers; not forced to disk (for state that does not outlive a reboot). */
    public static void write(Path target, String content) throws IOException {
        write(target, content, false);
    }

    /** Atomic, and with {@code durable} on disk before the rename makes it visible. */
    public static void write(Path target, String content, boolean durable) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            if (durable) {
                ch.force(true);
            }
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
