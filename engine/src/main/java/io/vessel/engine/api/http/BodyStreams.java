package io.vessel.engine.api.http;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The framings of HTTP/1.1 message bodies (RFC 9112 §6–7): a body of a declared length and a
 * chunked body, read from the connection without reading past their end (the next message on a
 * kept-alive connection follows them), and a chunked writer. Both ends use them: the daemon's
 * server for requests and responses, the CLI's client for its requests and the daemon's answers;
 * {@code what} names the body in errors ("request body", "daemon's response").
 */
public final class BodyStreams {
    /** Longest chunk-size line accepted (hex size plus extensions). */
    private static final int MAX_CHUNK_LINE = 4096;
    /** Longest trailer section accepted after the last chunk. */
    private static final int MAX_TRAILERS = 16 * 1024;

    private BodyStreams() {
    }

    /** A body that is not valid HTTP framing: a bad chunk size, a chunk without its CRLF, too many trailers. */
    public static final class MalformedBody extends IOException {
        MalformedBody(String message) {
            super(message);
        }
    }

    /** The first {@code length} bytes of {@code in}; a connection closed before them is an error. */
    public static InputStream fixed(InputStream in, long length, String what) {
        return new Fixed(in, length, what);
    }

    /** A chunked body read from {@code in}, de-chunked; trailers are read and dropped. */
    public static InputStream dechunked(InputStream in, String what) {
        return new Chunked(in, what);
    }

    /** A writer of chunks to {@code out}; its {@code close} writes the last chunk and leaves {@code out} open. */
    public static OutputStream chunked(OutputStream out) {
        return new ChunkedOutput(out);
    }

    private static final class Fixed extends InputStream {
        private final InputStream in;
        private final String what;
        private long remaining;

        Fixed(InputStream in, long length, String what) {
            this.in = in;
            this.remaining = length;
            this.what = what;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining == 0) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new EOFException("the connection closed " + remaining + " bytes before the end of the " + what);
            }
            remaining -= n;
            return n;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(in.available(), remaining);
        }
    }

    private static final class Chunked extends InputStream {
        private final InputStream in;
        private final String what;
        private long chunkLeft;
        private boolean done;

        Chunked(InputStream in, String what) {
            this.in = in;
            this.what = what;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            if (chunkLeft == 0) {
                chunkLeft = nextChunkSize();
                if (chunkLeft == 0) {
                    skipTrailers();
                    done = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, chunkLeft));
            if (n < 0) {
                throw new EOFException("the connection closed inside a chunk of the " + what);
            }
            chunkLeft -= n;
            if (chunkLeft == 0) {
                expectCrlf();
            }
            return n;
        }

        private long nextChunkSize() throws IOException {
            String line = readLine(in, MAX_CHUNK_LINE, "chunk size line");
            int semi = line.indexOf(';');
            String hex = (semi >= 0 ? line.substring(0, semi) : line).trim();
            if (hex.isEmpty() || hex.length() > 15 || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw new MalformedBody("malformed chunk size in the " + what + ": \"" + line + "\"");
            }
            return Long.parseLong(hex, 16);
        }

        private void expectCrlf() throws IOException {
            int cr = in.read();
            int lf = in.read();
            if (cr != '\r' || lf != '\n') {
                throw new MalformedBody("a chunk of the " + what + " does not end with CRLF");
            }
        }

        private void skipTrailers() throws IOException {
            int total = 0;
            while (true) {
                String line = readLine(in, MAX_CHUNK_LINE, "trailer line");
                if (line.isEmpty()) {
                    return;
                }
                total += line.length();
                if (total > MAX_TRAILERS) {
                    throw new MalformedBody("the " + what + "'s trailers exceed " + MAX_TRAILERS + " bytes");
                }
            }
        }
    }

    /**
     * Reads a CRLF-terminated line (a bare LF is tolerated, as most servers do) of at most
     * {@code max} bytes, as ISO-8859-1. Returns null at a clean end of stream before any byte.
     */
    public static String readLineOrNull(InputStream in, int max, String what) throws IOException {
        byte[] buf = new byte[Math.min(max, 256)];
        int n = 0;
        while (true) {
            int c = in.read();
            if (c < 0) {
                if (n == 0) {
                    return null;
                }
                throw new EOFException("the connection closed inside the " + what);
            }
            if (c == '\n') {
                if (n > 0 && buf[n - 1] == '\r') {
                    n--;
                }
                return new String(buf, 0, n, StandardCharsets.ISO_8859_1);
            }
            if (n >= max) {
                throw new LineTooLong(what, max);
            }
            if (n == buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.min(max + 1, buf.length * 2));
            }
            buf[n++] = (byte) c;
        }
    }

    public static String readLine(InputStream in, int max, String what) throws IOException {
        String line = readLineOrNull(in, max, what);
        if (line == null) {
            throw new EOFException("the connection closed before the " + what);
        }
        return line;
    }

    /** A line longer than its limit; the caller chooses the status (414 for a request line, 431 for headers). */
    public static final class LineTooLong extends IOException {
        final String what;
        final int max;

        LineTooLong(String what, int max) {
            super("the " + what + " exceeds " + max + " bytes");
            this.what = what;
            this.max = max;
        }
    }

    private static final class ChunkedOutput extends OutputStream {
        private static final byte[] CRLF = {'\r', '\n'};
        private final OutputStream out;
        private boolean closed;

        ChunkedOutput(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("the chunked body is already complete");
            }
            if (len == 0) {
                return; // a zero-length chunk would end the body
            }
            out.write(Integer.toHexString(len).getBytes(StandardCharsets.US_ASCII));
            out.write(CRLF);
            out.write(b, off, len);
            out.write(CRLF);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        }
    }
}
