package io.vessel.engine.api.http;

import io.vessel.json.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The response side of one request. A handler answers exactly once: a whole body
 * ({@link #send}, {@link #json}, {@link #empty}), a streamed body ({@link #stream},
 * {@link #jsonLines}), or by taking over the connection ({@link #hijack}) to stream both ways, as
 * Docker's attach and exec do.
 */
public final class HttpExchange {
    private final HttpRequest request;
    private final InputStream in;
    private final OutputStream out;
    private final SocketChannel channel;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private boolean committed;
    private boolean keepAlive;
    private boolean hijacked;
    private boolean bodyComplete;
    private OutputStream bodyStream;
    private volatile boolean handlerDone;

    HttpExchange(HttpRequest request, InputStream in, OutputStream out, SocketChannel channel, boolean keepAlive,
                 Map<String, String> defaultHeaders) {
        this.request = request;
        this.in = in;
        this.out = out;
        this.channel = channel;
        this.keepAlive = keepAlive;
        this.headers.putAll(defaultHeaders);
    }

    public HttpRequest request() {
        return request;
    }

    /** Sets a response header; must come before the response is committed. */
    public HttpExchange header(String name, String value) {
        if (committed) {
            throw new IllegalStateException("the response to " + request + " is already committed");
        }
        headers.put(name, value);
        return this;
    }

    /** Whether the status line has been written (an error can then no longer be sent as a status). */
    public boolean committed() {
        return committed;
    }

    /** A whole body with its length; a HEAD request gets the headers only. */
    public void send(int status, String contentType, byte[] body) throws IOException {
        if (contentType != null) {
            headers.put("Content-Type", contentType);
        }
        headers.put("Content-Length", Integer.toString(body.length));
        writeHead(status);
        if (!request.method().equals("HEAD")) {
            out.write(body);
        }
        out.flush();
        bodyComplete = true;
    }

    /** A JSON document. */
    public void json(int status, Object value) throws IOException {
        send(status, "application/json", (Json.write(value) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** A plain-text body, as {@code /_ping}'s "OK". */
    public void text(int status, String body) throws IOException {
        send(status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }

    /** A response without a body (204, 201 of a tag, 304). */
    public void empty(int status) throws IOException {
        if (status != Status.NO_CONTENT && status != Status.NOT_MODIFIED) {
            headers.put("Content-Length", "0");
        }
        writeHead(status);
        out.flush();
        bodyComplete = true;
    }

    /**
     * A body of unknown length: chunked for HTTP/1.1 (the connection stays usable), delimited by
     * closing the connection for HTTP/1.0. Closing the returned stream ends the body; each flush
     * sends what was written at once.
     */
    public OutputStream stream(int status, String contentType) throws IOException {
        headers.put("Content-Type", contentType);
        boolean chunked = request.protocol().equals("HTTP/1.1");
        if (chunked) {
            headers.put("Transfer-Encoding", "chunked");
        } else {
            keepAlive = false;
        }
        writeHead(status);
        out.flush();
        OutputStream raw = chunked ? BodyStreams.chunked(out) : new NonClosing(out);
        bodyStream = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                raw.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                raw.write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
                raw.flush();
            }

            @Override
            public void close() throws IOException {
                if (!bodyComplete) {
                    bodyComplete = true;
                    raw.close();
                    out.flush();
                }
            }
        };
        return bodyStream;
    }

    /** A stream of JSON messages, one a line, each sent at once (Docker's progress and event streams). */
    public JsonLines jsonLines(int status) throws IOException {
        return new JsonLines(stream(status, "application/json"));
    }

    /** Writes one JSON value a line to a streamed body. */
    public static final class JsonLines implements AutoCloseable {
        private final OutputStream out;

        JsonLines(OutputStream out) {
            this.out = out;
        }

        public synchronized void send(Object message) throws IOException {
            out.write((Json.write(message) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /**
     * Takes over the connection. A request that asked for {@code Upgrade: tcp} gets
     * {@code 101 UPGRADED}; an older client gets {@code 200 OK} and the raw stream after it, both
     * as the docker daemon answers. The connection is closed once the handler returns.
     */
    public Hijacked hijack(String contentType) throws IOException {
        boolean upgrade = request.headers().hasToken("Connection", "upgrade") && request.headers().first("Upgrade") != null;
        headers.put("Content-Type", contentType);
        headers.remove("Content-Length");
        if (upgrade) {
            headers.put("Connection", "Upgrade");
            headers.put("Upgrade", request.headers().first("Upgrade"));
        }
        hijacked = true;
        keepAlive = false;
        writeHead(upgrade ? Status.SWITCHING_PROTOCOLS : Status.OK);
        out.flush();
        bodyComplete = true;
        return new Hijacked(in, new NonClosing(out), () -> {
            try {
                out.flush();
                channel.shutdownOutput();
            } catch (IOException e) {
                // the peer is gone: nothing to half-close
            }
        });
    }

    /**
     * A taken-over connection: bytes from the client (after any the server had buffered) and to it.
     * {@code closeWrite} half-closes it, telling the client that output ended while still reading.
     */
    public record Hijacked(InputStream in, OutputStream out, Runnable closeWrite) {
    }

    private void writeHead(int status) throws IOException {
        if (committed) {
            throw new IllegalStateException("the response to " + request + " is already committed");
        }
        committed = true;
        if (!hijacked) {
            if (!keepAlive) {
                headers.put("Connection", "close");
            } else if (request.protocol().equals("HTTP/1.0")) {
                headers.put("Connection", "keep-alive");
            }
        }
        headers.put("Date", DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)));
        StringBuilder sb = new StringBuilder(256);
        String reason = status == Status.SWITCHING_PROTOCOLS && hijacked ? "UPGRADED" : Status.reason(status);
        sb.append(request.protocol().equals("HTTP/1.0") ? "HTTP/1.0" : "HTTP/1.1").append(' ')
                .append(status).append(' ').append(reason).append("\r\n");
        for (Map.Entry<String, String> h : headers.entrySet()) {
            sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
        }
        sb.append("\r\n");
        out.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    /**
     * For a long stream the client ends by going away ({@code /events}, {@code logs -f}): watches
     * the connection and interrupts {@code handler} when the client closes it. The connection is not
     * reused afterwards.
     */
    public void watchDisconnect(Thread handler) {
        keepAlive = false;
        Thread.ofVirtual().name("http-watch " + request).start(() -> {
            try {
                while (in.read() >= 0) {
                    // a client does not send after such a request; anything sent is dropped
                }
            } catch (IOException | RuntimeException closed) {
                // closed by the client or by the server after the handler ended
            }
            if (!handlerDone) {
                handler.interrupt();
            }
        });
    }

    void handlerDone() {
        handlerDone = true;
    }

    boolean keepAlive() {
        return keepAlive && !hijacked;
    }

    boolean hijacked() {
        return hijacked;
    }

    /** Ends a streamed body the handler left open; false when the response is incomplete. */
    boolean finish() throws IOException {
        if (bodyStream != null && !bodyComplete) {
            bodyStream.close();
        }
        return bodyComplete;
    }

    /** Keeps a handler's close from closing the connection under the server. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
