package io.vessel.image.store;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * A container's root file system: an overlay mount of the image's layer directories (read-only lowers, top
 * first) under the container's own {@code upper} (its changes, in the form {@link
 * io.vessel.image.layer.LayerWriter} archives) and {@code work} directories in {@code containerDir}.
 *
 * <p>The lower directories are passed in mount(2)'s option string, which the kernel limits to one page
 * (4096 bytes with its NUL); a stack whose absolute paths do not fit is refused with an error naming the
 * limit and the length (about 50 layers under {@code /var/lib/vessel}). The new mount API ({@code fsconfig}
 * {@code lowerdir+}, one layer per call) would lift the limit; it is not used yet.
 */
public final class Snapshot {
    /** The kernel copies mount data into one page: PAGE_SIZE bytes including the terminating NUL. */
    static final int MOUNT_DATA_LIMIT = 4096;

    private final Path dir;
    private final List<Path> lowers;
    private Path mounted;

    private Snapshot(Path dir, List<Path> lowers) {
        this.dir = dir;
        this.lowers = List.copyOf(lowers);
    }

    /**
     * Makes {@code containerDir/upper} and {@code work} (keeping what is there: a stopped container's changes)
     * over {@code lowers}, the layer directories top first (e.g. {@link LayerStore#lowerDirs}).
     */
    public static Snapshot prepare(Path containerDir, List<Path> lowers) throws IOException {
        if (lowers.isEmpty()) {
            throw new IllegalArgumentException("snapshot " + containerDir + ": no lower layers");
        }
        for (Path l : lowers) {
            if (!Files.isDirectory(l, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("snapshot " + containerDir + ": lower layer " + l + " is not a directory");
            }
            if (l.toString().contains(",") || l.toString().contains(":")) {
                throw new IOException("snapshot " + containerDir + ": lower layer path " + l
                        + " contains ',' or ':', which overlay's options cannot carry");
            }
        }
        Path d = containerDir.toAbsolutePath().normalize();
        Files.createDirectories(d.resolve("upper"));
        Files.createDirectories(d.resolve("work"));
        return new Snapshot(d, lowers.stream().map(p -> p.toAbsolutePath().normalize()).toList());
    }

    public Path upper() {
        return dir.resolve("upper");
    }

    public Path work() {
        return dir.resolve("work");
    }

    public List<Path> lowers() {
        return lowers;
    }

    /** The overlay options for this stack: {@code lowerdir=TOP:...:BOTTOM,upperdir=...,workdir=...}. */
    String options() {
        StringBuilder b = new StringBuilder("lowerdir=");
        for (int i = 0; i < lowers.size(); i++) {
            b.append(i == 0 ? "" : ":").append(lowers.get(i));
        }
        return b.append(",upperdir=").append(upper()).append(",workdir=").append(work()).toString();
    }

    /**
     * Mounts the overlay on {@code target}. Read-only mounts have no upper directory: the lowers alone, so that
     * nothing can be written even by root.
     */
    public void mount(Path target, boolean readOnly) throws IOException {
        if (mounted != null) {
            throw new IllegalStateException("snapshot " + dir + " is already mounted on " + mounted);
        }
        String data;
        if (readOnly) {
            data = "lowerdir=" + String.join(":", lowers.stream().map(Path::toString).toList());
            if (lowers.size() == 1) {
                // overlay needs two lowers without an upper; the same layer twice is harmless
                data = data + ":" + lowers.getFirst();
            }
        } else {
            data = options();
        }
        int length = data.getBytes(StandardCharsets.UTF_8).length;
        if (length + 1 > MOUNT_DATA_LIMIT) {
            throw new IOException("snapshot " + dir + ": the overlay options for " + lowers.size() + " layers are "
                    + length + " bytes, over the kernel's limit of " + (MOUNT_DATA_LIMIT - 1)
                    + " for mount(2) data (one page)");
        }
        try {
            Mount.mount("overlay", target.toString(), "overlay", readOnly ? MS_RDONLY : 0, data);
        } catch (ErrnoException e) {
            throw new IOException("snapshot " + dir + ": cannot mount the overlay on " + target + ": "
                    + e.getMessage(), e);
        }
        mounted = target;
    }

    /** Unmounts it (detaching, as a container's processes may still hold it); nothing if not mounted. */
    public void unmount() throws IOException {
        if (mounted == null) {
            return;
        }
        Mount.umount(mounted.toString(), Mount.MNT_DETACH);
        mounted = null;
    }

    /** Unmounts it and removes the container's upper and work directories and {@code containerDir} itself. */
    public void remove() throws IOException {
        unmount();
        FileTrees.remove(dir);
    }

    /** MS_RDONLY from sys/mount.h. */
    private static final long MS_RDONLY = 1;
}
