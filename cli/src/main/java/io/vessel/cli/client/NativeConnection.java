package io.vessel.cli.client;

import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A {@link Connection} made by {@code libvessel-client.so} (native/vessel-client.c), which connects
 * the socket and hands it over as a {@link FileDescriptor}; the streams are the JDK's file streams on
 * it. The library lies beside {@code vessel-launch} ({@code -Dvessel.launcher}), in the build
 * directory and where {@code make install} puts it. Opening a Unix-domain SocketChannel instead costs
 * the CLI about 35 ms of start-up (the JDK seeds a SecureRandom and scans the class path for
 * selector providers); see the C file.
 */
final class NativeConnection implements Connection {
    /** The library's file name, beside the launcher. */
    static final String LIBRARY = "libvessel-client.so";
    /** shutdown(2)'s {@code how}, from {@code <sys/socket.h>}. */
    private static final int SHUT_WR = 1;
    private static final int SHUT_RDWR = 2;

    private static final boolean LOADED = load();

    private final FileDescriptor fd;
    private final FileInputStream in;
    private final FileOutputStream out;

    private NativeConnection(FileDescriptor fd) {
        this.fd = fd;
        this.in = new FileInputStream(fd);
        this.out = new FileOutputStream(fd);
    }

    /** Whether the library is there and loaded; without it, {@link ChannelConnection} serves. */
    static boolean available() {
        return LOADED;
    }

    private static boolean load() {
        String launcher = System.getProperty("vessel.launcher");
        if (launcher == null || launcher.isEmpty()) {
            return false;
        }
        File lib = new File(new File(launcher).getParentFile(), LIBRARY);
        if (!lib.isFile()) {
            return false;
        }
        try {
            System.load(lib.getAbsolutePath());
            return true;
        } catch (UnsatisfiedLinkError | SecurityException e) {
            return false;
        }
    }

    static NativeConnection open(Path socket) throws IOException {
        return new NativeConnection(connect(socket.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static native FileDescriptor connect(byte[] path) throws IOException;

    private static native void shutdown(FileDescriptor fd, int how) throws IOException;

    @Override
    public InputStream input() {
        return in;
    }

    @Override
    public OutputStream output() {
        return out;
    }

    @Override
    public void shutdownOutput() throws IOException {
        shutdown(fd, SHUT_WR);
    }

    @Override
    public void close() throws IOException {
        try {
            shutdown(fd, SHUT_RDWR); // a thread blocked reading sees the end, before the fd number is freed
        } catch (IOException ignored) {
            // closing is what matters
        }
        in.close(); // closes the descriptor, and the output stream with it
    }
}
