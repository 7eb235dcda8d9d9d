package io.vessel.engine.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A deliberately dumb HTTP client for tests: writes exactly the bytes given on a Unix socket and
 * reads responses, so that malformed and hostile requests can be sent as they are.
 */
public final class RawClient implements AutoCloseable {
    /** A parsed response. */
    public record Response(int status, Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private final SocketChannel channel;
    private final InputStream in;

    public RawClient(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        in = new java.io.BufferedInputStream(Channels.newInputStream(channel));
    }

    public RawClient send(String raw) throws IOException {
        return send(raw.getBytes(StandardCharsets.ISO_8859_1));
    }

    public RawClient send(byte[] raw) throws IOException {
        var buf = java.nio.ByteBuffer.wrap(raw);
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        return this;
    }

    public InputStream input() {
        return in;
    }

    public void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /** Reads the status line and headers of a response that has no body (to HEAD). */
    public Response readHead() throws IOException {
        return read(false);
    }

    /** Reads one response: status line, headers, and a Content-Length, chunked or close-delimited body. */
    public Response read() throws IOException {
        return read(true);
    }

    private Response read(boolean withBody) throws IOException {
        String status = line();
        if (status == null) {
            throw new IOException("the server closed the connection without a response");
        }
        while (status.startsWith("HTTP/1.1 100 ")) {
            line();
            status = line();
        }
        Map<String, String> headers = new LinkedHashMap<>();
        String h;
        while ((h = line()) != null && !h.isEmpty()) {
            int c = h.indexOf(':');
            headers.put(h.substring(0, c).trim().toLowerCase(Locale.ROOT), h.substring(c + 1).trim());
        }
        int code = Integer.parseInt(status.split(" ")[1]);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (!withBody) {
            return new Response(code, headers, "");
        }
        if (headers.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                int n = Integer.parseInt(line().trim(), 16);
                if (n == 0) {
                    line();
                    break;
                }
                body.write(in.readNBytes(n));
                line();
            }
        } else if (code != 101 && code != 204 && code != 304) {
            body.write(in.readAllBytes());
        }
        return new Response(code, headers, body.toString(StandardCharsets.UTF_8));
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            b.write(c);
        }
        if (c < 0 && b.size() == 0) {
            return null;
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** One request with Connection: close, and its response. */
    public static Response exchange(Path socket, String raw) throws IOException {
        try (RawClient c = new RawClient(socket)) {
            return c.send(raw).read();
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
