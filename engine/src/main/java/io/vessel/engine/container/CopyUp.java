package io.vessel.engine.container;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Files;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Docker's volume copy-up: when an empty volume is mounted where the image has a directory, the
 * image's content there is copied into the volume first, so that a volume starts as the image
 * left that directory (an image's {@code VOLUME /data} with files under it). Everything is kept:
 * ownership, all mode bits, times, extended attributes, symbolic links as links, hard links as
 * links, device nodes and FIFOs; the volume's root directory takes the source's owner and mode.
 */
final class CopyUp {
    private final Map<Object, Path> linked = new HashMap<>(); // inode → first copy, for hard links

    private CopyUp() {
    }

    /**
     * Copies {@code source} (a directory in the container's rootfs) into {@code volume} if the
     * volume is empty; returns whether it copied.
     */
    static boolean ifEmpty(Path source, Path volume) throws IOException {
        if (!java.nio.file.Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (DirectoryStream<Path> ds = java.nio.file.Files.newDirectoryStream(volume)) {
            if (ds.iterator().hasNext()) {
                return false;
            }
        }
        CopyUp c = new CopyUp();
        try (DirectoryStream<Path> ds = java.nio.file.Files.newDirectoryStream(source)) {
            for (Path child : ds) {
                c.copy(child, volume.resolve(child.getFileName().toString()));
            }
        }
        c.metadata(source, volume, false);
        return true;
    }

    private void copy(Path src, Path dst) throws IOException {
        Map<String, Object> a = java.nio.file.Files.readAttributes(src, "unix:mode,ino,dev,nlink,rdev",
                LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        int type = mode & 0170000;
        if (type != 0040000 && (Integer) a.get("nlink") > 1) {
            Object key = a.get("dev") + ":" + a.get("ino");
            Path first = linked.get(key);
            if (first != null) {
                java.nio.file.Files.createLink(dst, first);
                return;
            }
            linked.put(key, dst);
        }
        switch (type) {
            case 0040000 -> {
                java.nio.file.Files.createDirectory(dst);
                try (DirectoryStream<Path> ds = java.nio.file.Files.newDirectoryStream(src)) {
                    for (Path child : ds) {
                        copy(child, dst.resolve(child.getFileName().toString()));
                    }
                }
            }
            case 0100000 -> java.nio.file.Files.copy(src, dst, StandardCopyOption.COPY_ATTRIBUTES,
                    LinkOption.NOFOLLOW_LINKS);
            case 0120000 -> java.nio.file.Files.createSymbolicLink(dst, java.nio.file.Files.readSymbolicLink(src));
            case 0010000, 0020000, 0060000 -> {
                try {
                    Files.mknod(dst.toString(), mode, (Long) a.get("rdev"));
                } catch (ErrnoException e) {
                    throw new IOException("copy-up: cannot make " + dst + ": " + e.getMessage(), e);
                }
            }
            case 0140000 -> {
                return; // a socket is a live endpoint, not content: Docker's copy skips it too
            }
            default -> throw new IOException("copy-up: " + src + " has an unknown file type (mode 0"
                    + Integer.toOctalString(mode) + ")");
        }
        metadata(src, dst, type == 0120000);
    }

    /** Owner, mode, xattrs and times of {@code src} onto {@code dst}; the mode is set after the owner (chown clears setuid). */
    private void metadata(Path src, Path dst, boolean symlink) throws IOException {
        Map<String, Object> a = java.nio.file.Files.readAttributes(src, "unix:uid,gid,mode,lastModifiedTime,lastAccessTime",
                LinkOption.NOFOLLOW_LINKS);
        try {
            Files.lchown(dst.toString(), (Integer) a.get("uid"), (Integer) a.get("gid"));
            for (String name : Files.llistxattr(src.toString())) {
                byte[] v = Files.lgetxattr(src.toString(), name);
                if (v != null) {
                    Files.lsetxattr(dst.toString(), name, v, 0);
                }
            }
            if (!symlink) {
                Files.chmod(dst.toString(), (Integer) a.get("mode") & 07777);
            }
            FileTime m = (FileTime) a.get("lastModifiedTime");
            FileTime at = (FileTime) a.get("lastAccessTime");
            Files.utimensat(dst.toString(), at.to(TimeUnit.SECONDS), at.toInstant().getNano(),
                    m.to(TimeUnit.SECONDS), m.toInstant().getNano(), Files.AT_SYMLINK_NOFOLLOW);
        } catch (ErrnoException e) {
            throw new IOException("copy-up: cannot copy the metadata of " + src + " to " + dst + ": "
                    + e.getMessage(), e);
        }
    }

}
