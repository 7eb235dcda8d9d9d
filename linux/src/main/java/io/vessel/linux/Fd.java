package io.vessel.linux;

/** An owned file descriptor; {@link #close()} closes it once. */
public final class Fd implements AutoCloseable {
    private int fd;

    private Fd(int fd) {
        this.fd = fd;
    }

    /** Takes ownership of a descriptor returned by a system call. */
    public static Fd adopt(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new Fd(fd);
    }

    public int num() {
        if (fd < 0) {
            throw new IllegalStateException("file descriptor already closed");
        }
        return fd;
    }

    public boolean isOpen() {
        return fd >= 0;
    }

    /** Gives up ownership without closing: the caller now owns the number. */
    public int release() {
        int n = num();
        fd = -1;
        return n;
    }

    @Override
    public void close() {
        if (fd >= 0) {
            Files.closeQuietly(fd);
            fd = -1;
        }
    }

    @Override
    public String toString() {
        return "fd " + fd;
    }
}
