package io.vessel.cli;

import io.vessel.engine.build.DockerIgnore;
import io.vessel.image.archive.TarOutput;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A directory as the tar the daemon receives: a build context (with {@code .dockerignore} applied
 * here, on the client, as the docker CLI does, so ignored files never cross the socket) or a root
 * file system to import. Regular files, directories and symbolic links are archived, in name order
 * so the same tree gives the same archive; sockets, fifos and devices are skipped.
 */
final class ContextArchive {
    private static final String DOCKERIGNORE = ".dockerignore";

    private final Path dir;
    private final DockerIgnore ignore;
    /** Names that go in although ignored: docker always sends the Dockerfile and .dockerignore. */
    private final Set<String> always;

    private ContextArchive(Path dir, DockerIgnore ignore, Set<String> always) {
        this.dir = dir;
        this.ignore = ignore;
        this.always = always;
    }

    /** A build context: {@code dockerfile} (relative to it) and .dockerignore are kept whatever the rules say. */
    static ContextArchive buildContext(Path dir, String dockerfile) throws IOException {
        return new ContextArchive(dir, DockerIgnore.read(dir), Set.of(dockerfile, DOCKERIGNORE));
    }

    /** Every file of {@code dir}. */
    static ContextArchive all(Path dir) {
        return new ContextArchive(dir, DockerIgnore.none(), Set.of());
    }

    /** Writes the archive, then {@code extra} (name, bytes) pairs, then the end marker. */
    void writeTo(OutputStream out, List<Extra> extra) throws IOException {
        TarOutput tar = new TarOutput(out);
        walk(tar, dir, "");
        for (Extra e : extra) {
            tar.file(e.name(), 0644, 0, e.data());
        }
        tar.finish();
    }

    record Extra(String name, byte[] data) {
    }

    private void walk(TarOutput tar, Path d, String prefix) throws IOException {
        List<Path> children;
        try (Stream<Path> s = Files.list(d)) {
            children = s.sorted().toList();
        }
        for (Path p : children) {
            String name = prefix + p.getFileName();
            PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            boolean excluded = !always.contains(name) && ignore.excluded(name);
            if (a.isDirectory()) {
                if (!excluded) {
                    tar.directory(name, mode(a), a.lastModifiedTime().toMillis() / 1000);
                }
                if (!excluded || ignore.exceptionsBelow(name)) {
                    walk(tar, p, name + "/");
                }
            } else if (excluded) {
                continue;
            } else if (a.isSymbolicLink()) {
                tar.symlink(name, Files.readSymbolicLink(p).toString(), a.lastModifiedTime().toMillis() / 1000);
            } else if (a.isRegularFile()) {
                try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                    tar.file(name, mode(a), a.lastModifiedTime().toMillis() / 1000, a.size(), in);
                }
            }
        }
    }

    private static int mode(PosixFileAttributes a) {
        int m = 0;
        for (PosixFilePermission p : a.permissions()) {
            m |= 1 << (8 - p.ordinal());
        }
        return m;
    }
}
