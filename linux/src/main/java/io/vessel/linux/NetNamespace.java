package io.vessel.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Network namespaces made and entered from Java. {@code unshare(CLONE_NEWNET)} and
 * {@code setns(CLONE_NEWNET)} change only the calling thread, and are allowed in a multi-threaded
 * process, so each operation runs on a short-lived platform thread of its own that dies with the
 * namespace it entered: no pooled or virtual thread ever carries a foreign namespace.
 *
 * <p>A namespace outlives its processes while it is pinned: its {@code /proc/thread-self/ns/net}
 * bind-mounted on a file (as {@code ip netns add} does under {@code /run/netns}). Containers join
 * it by that path ({@code linux.namespaces[].path}).
 */
public final class NetNamespace {
    private static final String THREAD_NS = "/proc/thread-self/ns/net";
    private static final long MS_BIND = 4096; // include/uapi/linux/mount.h

    private NetNamespace() {
    }

    /** Work done inside a namespace. */
    @FunctionalInterface
    public interface Body<T> {
        T run() throws IOException;
    }

    /**
     * A new network namespace (with only a loopback link, down) pinned at {@code pin}, which must
     * not exist; its directory must. On failure nothing is left at {@code pin}.
     */
    public static void create(Path pin) throws IOException {
        String p = pin.toString();
        Files.open(p, Files.O_CREAT | Files.O_EXCL | Files.O_RDONLY | Files.O_CLOEXEC, 0444).close();
        try {
            onOwnThread("netns-create", () -> {
                Namespaces.unshare(Namespaces.CLONE_NEWNET);
                Mount.mount(THREAD_NS, p, null, MS_BIND, null);
                return null;
            });
        } catch (IOException | RuntimeException e) {
            java.nio.file.Files.deleteIfExists(pin);
            throw e;
        }
    }

    /** Runs {@code body} on a thread inside the namespace pinned (or open) at {@code netns}, and returns its result. */
    public static <T> T call(Path netns, Body<T> body) throws IOException {
        return onOwnThread("netns-call", () -> {
            try (Fd fd = Files.open(netns.toString(), Files.O_RDONLY | Files.O_CLOEXEC, 0)) {
                Namespaces.setns(fd, Namespaces.CLONE_NEWNET);
            }
            return body.run();
        });
    }

    /** Whether something is mounted on {@code pin} (this process's mount table). */
    public static boolean isPinned(Path pin) throws IOException {
        return MountTable.isMountPoint(pin);
    }

    /** Unpins the namespace and deletes the file; nothing to do if neither is there. */
    public static void remove(Path pin) throws IOException {
        Mount.detachAll(pin.toString());
        java.nio.file.Files.deleteIfExists(pin);
    }

    private static <T> T onOwnThread(String name, Body<T> body) throws IOException {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = Thread.ofPlatform().name(name).daemon(true).start(() -> {
            try {
                result[0] = body.run();
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        boolean interrupted = false;
        while (true) {
            try {
                t.join(); // the work changes kernel state: it is always waited for
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable f = failure[0];
        if (f instanceof IOException io) {
            throw io;
        }
        if (f instanceof UncheckedIOException u) {
            throw u.getCause();
        }
        if (f != null) {
            throw Native.rethrow(f);
        }
        @SuppressWarnings("unchecked")
        T r = (T) result[0];
        return r;
    }
}
