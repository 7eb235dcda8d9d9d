package io.vessel.engine.api.docker;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Docker's stream framing for logs, attach and exec without a terminal: each chunk is preceded by
 * an 8-byte header, the stream's number (0 stdin, 1 stdout, 2 stderr), three zero bytes, and the
 * chunk's length as a big-endian 32-bit integer. With a terminal the bytes go raw.
 */
final class StdStreams {
    /** The media types dockerd gives a multiplexed or raw stream (API 1.42 and later). */
    static final String MULTIPLEXED = "application/vnd.docker.multiplexed-stream";
    static final String RAW = "application/vnd.docker.raw-stream";
    static final int STDOUT = 1;
    static final int STDERR = 2;
    private static final int HEADER = 8;

    private StdStreams() {
    }

    static String mediaType(boolean tty) {
        return tty ? RAW : MULTIPLEXED;
    }

    /** Writes one chunk framed for {@code stream} (raw when {@code tty}) and flushes it. */
    static void write(OutputStream out, boolean tty, int stream, byte[] data, int off, int len) throws IOException {
        if (!tty) {
            byte[] h = new byte[HEADER];
            h[0] = (byte) stream;
            h[4] = (byte) (len >>> 24);
            h[5] = (byte) (len >>> 16);
            h[6] = (byte) (len >>> 8);
            h[7] = (byte) len;
            out.write(h);
        }
        out.write(data, off, len);
        out.flush();
    }
}
