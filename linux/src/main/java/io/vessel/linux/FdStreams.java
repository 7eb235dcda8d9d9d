package io.vessel.linux;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Java streams straight over a descriptor's read(2) and write(2), unbuffered, for descriptors the
 * JDK has no stream for (a socketpair end, a descriptor another process passed in). The
 * descriptor is asked for at every call, so a closed {@link Fd} ({@code fd::num}) or a caller's
 * ended request fails the call instead of reaching a number reused meanwhile.
 */
public final class FdStreams {
    /** The descriptor for one call; it may refuse (throw) when it is no longer to be used. */
    @FunctionalInterface
    public interface Source {
        int fd() throws IOException;
    }

    /** Reads at most this much per read(2). */
    private static final int MAX_READ = 64 * 1024;

    private FdStreams() {
    }

    public static InputStream input(Source fd) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) == 1 ? one[0] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                byte[] buf = new byte[Math.min(len, MAX_READ)];
                int n = Files.read(fd.fd(), buf);
                if (n == 0) {
                    return -1;
                }
                System.arraycopy(buf, 0, b, off, n);
                return n;
            }
        };
    }

    public static OutputStream output(Source fd) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[]{(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Files.write(fd.fd(), java.util.Arrays.copyOfRange(b, off, off + len));
            }
        };
    }
}
