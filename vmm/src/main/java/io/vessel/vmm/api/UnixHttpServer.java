package io.vessel.vmm.api;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A small HTTP/1.1 server on a Unix socket for the VMM's control API: one virtual thread accepts,
 * one per connection reads requests (Content-Length bodies, keep-alive unless the client says
 * close) and answers each through the handler. Self-contained on purpose: a VMM process should
 * carry nothing it does not need. {@link #close} stops accepting, drops the connections and
 * removes the socket file.
 */
public final class UnixHttpServer implements AutoCloseable {
    /** Bounds that keep a hostile client from holding memory: a line, the header count, a body (Firecracker allows 50 KiB). */
    static final int MAX_LINE = 8192, MAX_HEADERS = 64, MAX_BODY = 51_200;

    private final Path socket;
    private final ServerSocketChannel server;
    private final Function<HttpRequest, HttpResponse> handler;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private UnixHttpServer(Path socket, ServerSocketChannel server, Function<HttpRequest, HttpResponse> handler) {
        this.socket = socket;
        this.server = server;
        this.handler = handler;
        this.acceptor = Thread.ofVirtual().name("api-accept").unstarted(this::acceptLoop);
    }

    /**
     * Listens on {@code socket}, which must not exist yet (a stale socket of a dead VMM has to be
     * removed by whoever knows it is stale), and serves requests with {@code handler}.
     */
    public static UnixHttpServer start(Path socket, Function<HttpRequest, HttpResponse> handler) throws IOException {
        if (Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("API socket " + socket + " already exists: another VMM may be using it; remove it or choose another path");
        }
        ServerSocketChannel server;
        try {
            server = io.vessel.linux.UnixListener.listen(socket, PosixFilePermissions.fromString("rw-------"), false);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new IOException("API socket " + socket + " already exists: another VMM may be using it; remove it or choose another path");
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot listen on API socket " + socket + ": " + e.getMessage(), e);
        }
        UnixHttpServer s = new UnixHttpServer(socket, server, handler);
        s.acceptor.start();
        return s;
    }

    public Path socket() {
        return socket;
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("vessel-vmm: API socket " + socket + ": accept failed: " + e.getMessage());
                }
                return;
            }
            connections.add(c);
            if (closed) {
                closeQuietly(c);
                return;
            }
            Thread.ofVirtual().name("api-connection").start(() -> serve(c));
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            InputStream in = new BufferedInputStream(Channels.newInputStream(c));
            OutputStream out = Channels.newOutputStream(c);
            while (!closed) {
                HttpRequest request;
                boolean keepAlive;
                try {
                    String requestLine = readLine(in);
                    if (requestLine == null) {
                        return;
                    }
                    if (requestLine.isEmpty()) {
                        continue;   // RFC 9112, 2.2: ignore empty lines before a request line
                    }
                    String[] parts = requestLine.split(" ");
                    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
                        throw new ApiException("bad request line: " + abbreviate(requestLine));
                    }
                    Map<String, String> headers = readHeaders(in);
                    byte[] body = readBody(in, headers);
                    String path = parts[1];
                    int q = path.indexOf('?');
                    request = new HttpRequest(parts[0], q < 0 ? path : path.substring(0, q), headers, body);
                    String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
                    keepAlive = parts[2].equals("HTTP/1.1") ? !connection.equals("close") : connection.equals("keep-alive");
                } catch (ApiException e) {
                    write(out, HttpResponse.fault(HttpResponse.BAD_REQUEST, e.getMessage()), false);
                    return;
                }
                HttpResponse response;
                try {
                    response = handler.apply(request);
                } catch (ApiException e) {
                    response = HttpResponse.fault(HttpResponse.BAD_REQUEST, e.getMessage());
                } catch (RuntimeException e) {
                    response = HttpResponse.fault(HttpResponse.INTERNAL_ERROR, request + " failed: " + e);
                }
                write(out, response, keepAlive);
                if (!keepAlive) {
                    return;
                }
            }
        } catch (EOFException | ClosedChannelException e) {
            // the client went away mid-request, or the server is closing
        } catch (IOException e) {
            if (!closed) {
                System.err.println("vessel-vmm: API connection: " + e.getMessage());
            }
        } finally {
            connections.remove(c);
        }
    }

    private static Map<String, String> readHeaders(InputStream in) throws IOException {
        Map<String, String> headers = new HashMap<>();
        while (true) {
            String line = readLine(in);
            if (line == null) {
                throw new EOFException();
            }
            if (line.isEmpty()) {
                return headers;
            }
            if (headers.size() == MAX_HEADERS) {
                throw new ApiException("more than " + MAX_HEADERS + " header fields");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new ApiException("bad header field: " + abbreviate(line));
            }
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
    }

    private static byte[] readBody(InputStream in, Map<String, String> headers) throws IOException {
        if (headers.containsKey("transfer-encoding")) {
            throw new ApiException("Transfer-Encoding " + headers.get("transfer-encoding") + " is not supported: send a Content-Length body");
        }
        String length = headers.get("content-length");
        if (length == null) {
            return new byte[0];
        }
        int n;
        try {
            n = Integer.parseInt(length);
        } catch (NumberFormatException e) {
            throw new ApiException("Content-Length is not a number: " + abbreviate(length));
        }
        if (n < 0 || n > MAX_BODY) {
            throw new ApiException("Content-Length " + n + " is out of range: bodies are at most " + MAX_BODY + " bytes");
        }
        byte[] body = in.readNBytes(n);
        if (body.length != n) {
            throw new EOFException();
        }
        return body;
    }

    /** A CRLF- (or LF-) terminated line in ISO-8859-1; null at a clean end of stream. */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (line.size() == 0) {
                    return null;
                }
                throw new EOFException();
            }
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
            }
            if (line.size() == MAX_LINE) {
                throw new ApiException("a request or header line is longer than " + MAX_LINE + " bytes");
            }
            line.write(b);
        }
    }

    private static void write(OutputStream out, HttpResponse r, boolean keepAlive) throws IOException {
        StringBuilder head = new StringBuilder("HTTP/1.1 ").append(r.status()).append(' ').append(r.reason()).append("\r\n");
        head.append("Server: vessel-vmm\r\n");
        byte[] body = r.json() == null ? new byte[0] : r.json().getBytes(StandardCharsets.UTF_8);
        if (r.status() != HttpResponse.NO_CONTENT) {
            head.append("Content-Type: application/json\r\n").append("Content-Length: ").append(body.length).append("\r\n");
        }
        if (!keepAlive) {
            head.append("Connection: close\r\n");
        }
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    /** Stops accepting, closes every connection, removes the socket file; waits for the acceptor. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing a listening socket does not fail in a way we could act on
        }
        for (SocketChannel c : connections) {
            closeQuietly(c);
        }
        try {
            acceptor.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            System.err.println("vessel-vmm: could not remove API socket " + socket + ": " + e.getMessage());
        }
    }
}
