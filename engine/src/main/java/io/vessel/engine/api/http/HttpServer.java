package io.vessel.engine.api.http;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * An HTTP/1.1 server on a Unix domain socket, one virtual thread per connection, with keep-alive,
 * Content-Length and chunked request bodies, streamed responses and connection hijacking. Requests
 * are read within {@link Limits}; malformed ones get a 400 (oversized: 413, 414, 431) with a JSON
 * error body and the connection is closed, since its framing can no longer be trusted.
 *
 * <p>What a handler throws is turned into an {@link ApiException} by the error mapper and sent as
 * {@code {"message": "..."}} with its status, as the docker daemon answers; after a streamed
 * response has begun, the connection is cut instead, so the client sees a truncated stream.
 */
public final class HttpServer implements AutoCloseable {
    /** Connections served at once; beyond this new ones are closed at once (a local denial-of-service bound). */
    static final int MAX_CONNECTIONS = 1024;
    /** The socket's mode: the owner and its group (docker's is root:docker 0660). */
    private static final String SOCKET_MODE = "rw-rw----";
    /** The group given the socket when it exists, as dockerd does. */
    private static final String SOCKET_GROUP = "docker";
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final int BUFFER = 64 * 1024;

    private final Path socket;
    private final ServerSocketChannel server;
    private final Handler handler;
    private final Limits limits;
    private final Function<Throwable, ApiException> errors;
    private final Map<String, String> defaultHeaders;
    private final Log log;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closing;

    private HttpServer(Path socket, ServerSocketChannel server, Handler handler, Limits limits,
                       Function<Throwable, ApiException> errors, Map<String, String> defaultHeaders, Log log) {
        this.socket = socket;
        this.server = server;
        this.handler = handler;
        this.limits = limits;
        this.errors = errors;
        this.defaultHeaders = Map.copyOf(defaultHeaders);
        this.log = log;
        this.acceptor = Thread.ofVirtual().name("http-accept " + socket).unstarted(this::acceptLoop);
    }

    /**
     * Listens on {@code socket} (mode 0660, group {@code docker} if it exists) and serves. A socket
     * file left by a dead server is replaced; a live server on it, or a file that is not a socket,
     * is an error: the caller's lock should already have made sure no other server of its own runs.
     *
     * @param errors maps what handlers throw to a status and message
     * @param log    receives a line per request and per failure
     */
    public static HttpServer start(Path socket, Handler handler, Limits limits, Function<Throwable, ApiException> errors,
                                   Map<String, String> defaultHeaders, Log log) throws IOException {
        Path parent = socket.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        removeStale(socket);
        ServerSocketChannel server = io.vessel.linux.UnixListener.listen(socket,
                PosixFilePermissions.fromString(SOCKET_MODE), true);
        try {
            try {
                GroupPrincipal g = socket.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(SOCKET_GROUP);
                Files.getFileAttributeView(socket, java.nio.file.attribute.PosixFileAttributeView.class).setGroup(g);
            } catch (UserPrincipalNotFoundException noDockerGroup) {
                // root's group only
            }
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(socket);
            throw e;
        }
        HttpServer s = new HttpServer(socket, server, handler, limits, errors, defaultHeaders, log);
        s.acceptor.start();
        return s;
    }

    /** Where the server reports: every request served, and what went wrong (failed requests, refused input). */
    public interface Log {
        void request(String line);

        void problem(String line);

        /** Reports nothing. */
        Log NONE = new Log() {
            @Override
            public void request(String line) {
            }

            @Override
            public void problem(String line) {
            }
        };
    }

    private static void removeStale(Path socket) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Object type = Files.readAttributes(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS).get("mode");
        int sIfmt = 0170000, sIfsock = 0140000; // stat(2) st_mode file type bits
        if (!(type instanceof Integer mode) || (mode & sIfmt) != sIfsock) {
            throw new IOException(socket + " exists and is not a socket; refusing to replace it");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            throw new IOException("a server is already listening on " + socket);
        } catch (java.net.SocketException dead) {
            Files.delete(socket); // nobody listens: a stale file from a server that died
        }
    }

    public Path socket() {
        return socket;
    }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.problem("accept on " + socket + " failed: " + e.getMessage());
                return;
            }
            if (connections.size() >= MAX_CONNECTIONS) {
                log.problem("refusing a connection: " + MAX_CONNECTIONS + " are open");
                closeQuietly(c);
                continue;
            }
            connections.add(c);
            Thread.ofVirtual().name("http " + socket).start(() -> {
                try {
                    serve(c);
                } finally {
                    connections.remove(c);
                    closeQuietly(c);
                }
            });
        }
    }

    private void serve(SocketChannel channel) {
        InputStream in = new BufferedInputStream(Channels.newInputStream(channel), BUFFER);
        OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), BUFFER);
        try {
            while (!closing) {
                HttpRequest request;
                boolean keepAlive;
                try {
                    request = readRequest(in);
                    if (request == null) {
                        return; // the client closed between requests
                    }
                    keepAlive = keepAlive(request);
                } catch (ApiException e) {
                    sendBareError(out, e);
                    return;
                } catch (BodyStreams.LineTooLong e) {
                    int status = e.what.equals("request line") ? Status.URI_TOO_LONG : Status.HEADERS_TOO_LARGE;
                    sendBareError(out, new ApiException(status, e.getMessage()));
                    return;
                }
                if (!exchange(request, in, out, channel, keepAlive)) {
                    return;
                }
            }
        } catch (IOException e) {
            if (!closing && !(e instanceof EOFException) && !(e instanceof ClosedChannelException)) {
                log.problem("connection on " + socket + ": " + e.getMessage());
            }
        }
    }

    /** Serves one request; true when the connection can carry another. */
    private boolean exchange(HttpRequest request, InputStream in, OutputStream out, SocketChannel channel,
                             boolean keepAlive) throws IOException {
        HttpExchange ex = new HttpExchange(request, in, out, channel, keepAlive, defaultHeaders);
        if (request.headers().hasToken("Expect", "100-continue") && request.protocol().equals("HTTP/1.1")) {
            out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
        long t0 = System.nanoTime();
        try {
            handler.handle(request, ex);
        } catch (InterruptedException stopped) {
            // a stream ended by the client's leaving (watchDisconnect) or by close()
            return false;
        } catch (Throwable t) {
            if (t instanceof Error err && !(t instanceof OutOfMemoryError) && !(t instanceof StackOverflowError)) {
                throw err;
            }
            ApiException api = t instanceof ApiException a ? a
                    : malformedBody(t) instanceof BodyStreams.MalformedBody m ? ApiException.badRequest(m.getMessage())
                    : errors.apply(t);
            if (api.status() >= Status.INTERNAL_ERROR) {
                log.problem(request + ": " + t);
            }
            if (ex.committed() || ex.hijacked()) {
                log.problem(request + ": failed after the response began, closing the connection: " + t.getMessage());
                return false;
            }
            if (!framingIntact(t)) {
                ex.header("Connection", "close");
                sendError(ex, api);
                return false;
            }
            sendError(ex, api);
        } finally {
            ex.handlerDone();
            Thread.interrupted(); // an interrupt meant for the handler must not reach the next request
        }
        log.request(request + " (" + (System.nanoTime() - t0) / 1_000_000 + " ms)");
        if (ex.hijacked()) {
            return false;
        }
        if (!ex.finish()) {
            if (ex.committed()) {
                return false;
            }
            sendError(ex, new ApiException(Status.INTERNAL_ERROR, "the handler of " + request + " sent no response"));
        }
        return ex.keepAlive() && drain(request.body());
    }

    /** Whether the connection can still be read after {@code t}: not after a broken request body. */
    private static boolean framingIntact(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof EOFException || c instanceof java.net.SocketException) {
                return false;
            }
            if (c instanceof BodyStreams.MalformedBody || c instanceof ApiException a && a.status() == Status.PAYLOAD_TOO_LARGE) {
                return false;
            }
        }
        return true;
    }

    /** The broken framing of the request body behind {@code t}, if that is what failed: the client's fault (400). */
    private static BodyStreams.MalformedBody malformedBody(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BodyStreams.MalformedBody m) {
                return m;
            }
        }
        return null;
    }

    private static void sendError(HttpExchange ex, ApiException e) throws IOException {
        ex.json(e.status(), Map.of("message", e.getMessage() == null ? Status.reason(e.status()) : e.getMessage()));
    }

    /** An error before a request could be parsed: HTTP/1.1, JSON body, connection closed. */
    private void sendBareError(OutputStream out, ApiException e) {
        byte[] body = (io.vessel.json.Json.write(Map.of("message", e.getMessage())) + "\n").getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + e.status() + " " + Status.reason(e.status()) + "\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n";
        try {
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
        } catch (IOException gone) {
            // the client left: nothing to tell it
        }
        log.problem("bad request: " + e.getMessage());
    }

    /** Reads what the handler left of the body, up to the limit; false if it could not. */
    private boolean drain(InputStream body) {
        byte[] buf = new byte[8192];
        long left = limits.maxDrain();
        try {
            int n;
            while ((n = body.read(buf)) > 0) {
                left -= n;
                if (left < 0) {
                    return false;
                }
            }
            return true;
        } catch (IOException | ApiException e) {
            return false;
        }
    }

    private static boolean keepAlive(HttpRequest r) {
        if (r.headers().hasToken("Connection", "close")) {
            return false;
        }
        return r.protocol().equals("HTTP/1.1") || r.headers().hasToken("Connection", "keep-alive");
    }

    /** Reads a request line and headers; null at a clean end of stream. */
    HttpRequest readRequest(InputStream in) throws IOException {
        String line;
        do {
            line = BodyStreams.readLineOrNull(in, limits.maxLine(), "request line");
            if (line == null) {
                return null;
            }
        } while (line.isEmpty()); // RFC 9112 §2.2: ignore empty lines before a request line
        String[] parts = line.split(" ", -1);
        if (parts.length != 3 || !TOKEN.matcher(parts[0]).matches() || parts[1].isEmpty()) {
            throw ApiException.badRequest("malformed request line: \"" + printable(line) + "\"");
        }
        String protocol = parts[2];
        if (!protocol.equals("HTTP/1.1") && !protocol.equals("HTTP/1.0")) {
            if (protocol.matches("HTTP/\\d(\\.\\d)?")) {
                throw new ApiException(Status.VERSION_NOT_SUPPORTED, "unsupported protocol " + protocol + "; HTTP/1.1 and HTTP/1.0 are served");
            }
            throw ApiException.badRequest("malformed request line: \"" + printable(line) + "\"");
        }
        Headers headers = new Headers();
        int total = line.length();
        while (true) {
            String h = BodyStreams.readLine(in, limits.maxLine(), "header line");
            if (h.isEmpty()) {
                break;
            }
            total += h.length() + 2;
            if (total > limits.maxHeaders()) {
                throw new ApiException(Status.HEADERS_TOO_LARGE, "the request's header section exceeds " + limits.maxHeaders() + " bytes");
            }
            int colon = h.indexOf(':');
            if (colon <= 0 || !TOKEN.matcher(h.substring(0, colon)).matches()) {
                throw ApiException.badRequest("malformed header line: \"" + printable(h) + "\"");
            }
            headers.add(h.substring(0, colon), h.substring(colon + 1).strip());
        }
        InputStream body;
        long length = -1;
        String te = headers.first("Transfer-Encoding");
        var lengths = headers.all("Content-Length");
        if (te != null) {
            if (!lengths.isEmpty()) {
                throw ApiException.badRequest("a request must not have both Transfer-Encoding and Content-Length");
            }
            String[] codings = String.join(",", headers.all("Transfer-Encoding")).split(",");
            if (codings.length != 1 || !codings[0].trim().equalsIgnoreCase("chunked")) {
                throw new ApiException(Status.NOT_IMPLEMENTED, "unsupported Transfer-Encoding \"" + te + "\"; only chunked is");
            }
            body = BodyStreams.dechunked(in, "request body");
        } else if (!lengths.isEmpty()) {
            String first = lengths.getFirst().trim();
            for (String l : lengths) {
                if (!l.trim().equals(first)) {
                    throw ApiException.badRequest("conflicting Content-Length headers: " + lengths);
                }
            }
            if (!first.matches("\\d{1,18}")) {
                throw ApiException.badRequest("malformed Content-Length \"" + printable(first) + "\"");
            }
            length = Long.parseLong(first);
            body = BodyStreams.fixed(in, length, "request body");
        } else {
            body = InputStream.nullInputStream();
            length = 0;
        }
        return new HttpRequest(parts[0], parts[1], protocol, headers, body, length, limits);
    }

    private static String printable(String s) {
        String cut = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** Stops accepting, cuts open connections, and removes the socket file. */
    @Override
    public void close() throws IOException {
        closing = true;
        server.close();
        for (SocketChannel c : connections) {
            closeQuietly(c);
        }
        try {
            acceptor.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(socket);
    }
}
