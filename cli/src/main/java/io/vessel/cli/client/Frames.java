package io.vessel.cli.client;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Docker's multiplexed stream (attach and exec without a tty, logs of such containers): frames of
 * an 8-byte header (stream type, three zero bytes, the payload's length big-endian) and the payload.
 */
public final class Frames {
    /** Header bytes, and the stream types of byte 0 (Docker Engine API, "Stream format"). */
    static final int HEADER = 8;
    public static final int STDIN = 0;
    public static final int STDOUT = 1;
    public static final int STDERR = 2;

    private Frames() {
    }

    /**
     * Copies each frame's payload to {@code stdout} or {@code stderr} until the stream ends,
     * flushing after each frame so that interactive output appears as it comes.
     */
    public static void demultiplex(InputStream in, OutputStream stdout, OutputStream stderr) throws IOException {
        byte[] header = new byte[HEADER];
        byte[] buf = new byte[32 * 1024];
        while (true) {
            int got = in.readNBytes(header, 0, HEADER);
            if (got == 0) {
                return;
            }
            if (got < HEADER) {
                throw new EOFException("the stream ended inside a frame header (" + got + " of " + HEADER + " bytes)");
            }
            int type = header[0];
            long length = ((header[4] & 0xffL) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
            OutputStream target = switch (type) {
                case STDIN, STDOUT -> stdout;
                case STDERR -> stderr;
                default -> throw new IOException("unknown stream type " + type + " in a multiplexed frame header");
            };
            while (length > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, length));
                if (n < 0) {
                    throw new EOFException("the stream ended inside a frame (" + length + " bytes missing)");
                }
                target.write(buf, 0, n);
                length -= n;
            }
            target.flush();
        }
    }
}
