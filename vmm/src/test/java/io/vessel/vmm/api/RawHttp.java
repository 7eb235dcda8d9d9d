package io.vessel.vmm.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** A test client that speaks HTTP/1.1 by hand over a Unix socket, one connection kept alive. */
final class RawHttp implements AutoCloseable {
    record Response(int status, Map<String, String> headers, String body) {
    }

    private final SocketChannel channel;
    private final InputStream in;

    RawHttp(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        in = Channels.newInputStream(channel);
    }

    Response send(String method, String path, String json) throws IOException {
        StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n");
        byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
        if (json != null) {
            req.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
        }
        req.append("\r\n");
        return sendRaw(req.toString().getBytes(StandardCharsets.UTF_8), body);
    }

    Response sendRaw(byte[] head, byte[] body) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(head.length + body.length).put(head).put(body).flip();
        while (b.hasRemaining()) {
            channel.write(b);
        }
        return read();
    }

    private Response read() throws IOException {
        String status = line();
        if (status == null) {
            throw new IOException("the server closed the connection without answering");
        }
        String[] parts = status.split(" ", 3);
        Map<String, String> headers = new HashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int c = l.indexOf(':');
            headers.put(l.substring(0, c).toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
        return new Response(Integer.parseInt(parts[1]), headers, body);
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
            }
            if (c != '\r') {
                b.write(c);
            }
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
