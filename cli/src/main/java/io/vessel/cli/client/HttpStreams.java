package io.vessel.cli.client;

import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** HTTP/1.1 body framings: Content-Length bounded, chunked in both directions. */
final class HttpStreams {
    /** Longest chunk-size line accepted (hex digits and extensions); a longer one is not HTTP. */
    private static final int MAX_CHUNK_LINE = 4096;

    private HttpStreams() {
    }

    /** The next {@code length} bytes of {@code in}; EOF before them is an error. */
    static InputStream bounded(InputStream in, long length) {
        return new InputStream() {
            private long left = length;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left == 0) {
                    return -1;
                }
                int n = in.read(b, off, (int) Math.min(len, left));
                if (n < 0) {
                    throw new EOFException("the daemon closed the connection " + left + " bytes before the body's end");
                }
                left -= n;
                return n;
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    /** Decodes a chunked body; trailers are read and dropped. */
    static InputStream dechunked(InputStream in) {
        return new InputStream() {
            private long left;
            private boolean done;

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
                if (left == 0) {
                    String line = line(in);
                    int semi = line.indexOf(';');
                    String hex = (semi < 0 ? line : line.substring(0, semi)).trim();
                    try {
                        left = Long.parseLong(hex, 16);
                    } catch (NumberFormatException e) {
                        throw new IOException("bad chunk size \"" + hex + "\" in the daemon's response");
                    }
                    if (left == 0) {
                        while (!line(in).isEmpty()) {
                            // trailers
                        }
                        done = true;
                        return -1;
                    }
                }
                int n = in.read(b, off, (int) Math.min(len, left));
                if (n < 0) {
                    throw new EOFException("the daemon closed the connection inside a chunk");
                }
                left -= n;
                if (left == 0 && !line(in).isEmpty()) {
                    throw new IOException("a chunk of the daemon's response does not end with CRLF");
                }
                return n;
            }

            @Override
            public int available() throws IOException {
                return done ? 0 : (int) Math.min(left, in.available());
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    /** A CRLF (or LF) terminated line in ISO-8859-1, without its terminator. */
    static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("the daemon closed the connection in the middle of a line");
            }
            if (c == '\n') {
                int l = b.length();
                return l > 0 && b.charAt(l - 1) == '\r' ? b.substring(0, l - 1) : b.toString();
            }
            if (b.length() >= MAX_CHUNK_LINE) {
                throw new IOException("a line of the daemon's response is longer than " + MAX_CHUNK_LINE + " bytes");
            }
            b.append((char) c);
        }
    }

    /** Writes chunks; {@link #close} writes the last chunk and leaves {@code out} open. */
    static OutputStream chunked(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return;
                }
                out.write((Integer.toHexString(len) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(b, off, len);
                out.write('\r');
                out.write('\n');
            }

            @Override
            public void close() throws IOException {
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        };
    }
}
