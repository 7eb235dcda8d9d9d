package io.vessel.linux;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Whole file trees: the one way the modules remove them (symbolic links removed, never followed). */
public final class FileTrees {
    private FileTrees() {
    }

    /**
     * Removes whatever is at {@code p}: a directory with all it holds, or a file, symlink or device.
     * Nothing there is not an error.
     *
     * @return the bytes of the regular files removed
     */
    public static long remove(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        long[] bytes = {0};
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    bytes[0] += attrs.size();
                }
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException ex) throws IOException {
                if (ex != null) {
                    throw ex;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
        return bytes[0];
    }
}
