package io.vessel.cli.client;

import io.vessel.engine.api.http.BodyStreams;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A small Docker Engine API client: HTTP/1.1 over the daemon's Unix socket (a {@link Connection}),
 * one connection per request. It speaks the version negotiated through
 * {@code /_ping} (the daemon's {@code Api-Version}, capped at {@link #MAX_API}), decodes
 * Content-Length, chunked and JSON-lines bodies, and hands over hijacked connections for attach
 * and exec. java.net.http cannot reach a Unix socket, and loading it would cost the CLI's start-up
 * more than this whole client.
 */
public final class DockerClient {
    /** The newest API this client speaks; docker 28's CLI speaks the same. */
    public static final String MAX_API = "1.50";
    /** The oldest API the client's requests are valid in (the Docker Engine API's 1.41, docker 20.10). */
    public static final String MIN_API = "1.41";
    /** Bytes of a response's status line and headers at most; more is not a daemon. */
    private static final int MAX_HEAD = 64 * 1024;
    /** Longest status or header line accepted from the daemon. */
    private static final int MAX_LINE = 4096;
    private static final int BUFFER = 16 * 1024;

    private final Path socket;
    private final String version;

    private DockerClient(Path socket, String version) {
        this.socket = socket;
        this.version = version;
    }

    /**
     * Pings the daemon at {@code socket} and agrees on the API version.
     *
     * @throws DaemonUnavailable when nothing answers there
     */
    public static DockerClient connect(Path socket) throws IOException {
        DockerClient unversioned = new DockerClient(socket, null);
        Response r;
        try {
            r = unversioned.call("GET", "/_ping", Map.of(), Body.NONE);
        } catch (DaemonUnavailable e) {
            throw e;
        } catch (IOException e) {
            throw new DaemonUnavailable(socket, "the ping failed: " + e.getMessage(), e);
        }
        try (r) {
            r.text();
            if (!r.ok()) {
                throw new DaemonUnavailable(socket, "/_ping answered HTTP " + r.status(), null);
            }
            return new DockerClient(socket, negotiate(r.header("Api-Version")));
        }
    }

    /** The lower of the daemon's version and this client's, as docker's negotiation does. */
    static String negotiate(String server) {
        if (server == null || server.isBlank()) {
            return MAX_API;
        }
        return compare(server.trim(), MAX_API) < 0 ? server.trim() : MAX_API;
    }

    static int compare(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int p = i < x.length ? parse(x[i]) : 0;
            int q = i < y.length ? parse(y[i]) : 0;
            if (p != q) {
                return Integer.compare(p, q);
            }
        }
        return 0;
    }

    private static int parse(String n) {
        try {
            return Integer.parseInt(n);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    public Path socket() {
        return socket;
    }

    /** The negotiated API version, such as {@code 1.50}. */
    public String apiVersion() {
        return version;
    }

    /** {@code GET path} as JSON (errors thrown as {@link ApiError}). */
    public JsonNode get(String path) throws IOException {
        try (Response r = call("GET", path, Map.of(), Body.NONE)) {
            return r.json();
        }
    }

    /** {@code method path} with a JSON body (or none), the answer as JSON; an empty answer is a null node. */
    public JsonNode send(String method, String path, Object jsonBody) throws IOException {
        try (Response r = call(method, path, Map.of(), jsonBody == null ? Body.NONE : Body.json(jsonBody))) {
            r.check();
            String text = r.text();
            if (text.isBlank()) {
                return JsonNode.root("the daemon's response", null);
            }
            try {
                return JsonNode.root("the daemon's response", Json.parse(text));
            } catch (JsonException e) {
                throw new IOException("the daemon's response to " + method + " " + path + " is not JSON: " + e.getMessage(), e);
            }
        }
    }

    /**
     * A request whose answer is Docker's JSON message stream (pull, push, build, load, events):
     * each message to {@code each} as it arrives. An {@code errorDetail} message ends the stream
     * with an {@link ApiError} carrying its text.
     */
    public void messages(String method, String path, Map<String, String> headers, Body body, Consumer<JsonNode> each)
            throws IOException {
        try (Response r = call(method, path, headers, body)) {
            r.check();
            BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode m;
                try {
                    m = JsonNode.root("a message from the daemon", Json.parse(line));
                } catch (JsonException e) {
                    throw new IOException("the daemon sent a message that is not JSON: " + e.getMessage(), e);
                }
                if (m.isObject() && (m.get("errorDetail").present() || m.get("error").present())) {
                    String text = m.get("errorDetail").isObject() ? m.get("errorDetail").get("message").string("") : "";
                    throw new ApiError(r.status(), text.isEmpty() ? m.get("error").string("unknown error") : text);
                }
                each.accept(m);
            }
        }
    }

    /**
     * Sends a request that takes the connection over (attach, exec start) with
     * {@code Upgrade: tcp}; the daemon answers 101 (or 200 from older daemons) and the stream.
     */
    public Hijacked hijack(String method, String path, Object jsonBody) throws IOException {
        Map<String, String> h = new HashMap<>();
        h.put("Connection", "Upgrade");
        h.put("Upgrade", "tcp");
        Response r = call(method, path, h, jsonBody == null ? Body.NONE : Body.json(jsonBody));
        try {
            if (r.status() != 101 && r.status() != 200) {
                r.check();
                throw new IOException("the daemon answered " + method + " " + path + " with HTTP " + r.status()
                        + " instead of taking the connection over");
            }
            return new Hijacked(r.connection(), r.body(), r.rawOutput());
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
    }

    /**
     * Sends one request on a new connection and reads the response's head; the body is left to the
     * caller through the {@link Response}, which must be closed.
     */
    public Response call(String method, String path, Map<String, String> headers, Body body) throws IOException {
        Connection ch = open();
        try {
            OutputStream raw = ch.output();
            OutputStream out = new BufferedOutputStream(raw, BUFFER);
            StringBuilder head = new StringBuilder(256);
            head.append(method).append(' ').append(version == null ? "" : "/v" + version).append(path).append(" HTTP/1.1\r\n")
                    .append("Host: vessel\r\n").append("User-Agent: vessel-cli\r\n");
            boolean upgrade = headers.containsKey("Upgrade");
            if (!upgrade) {
                head.append("Connection: close\r\n");
            }
            headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
            body.appendHeaders(head, method);
            head.append("\r\n");
            BufferedInputStream in = new BufferedInputStream(ch.input(), BUFFER);
            IOException writeFailed = null;
            try {
                out.write(head.toString().getBytes(StandardCharsets.UTF_8));
                body.writeTo(out);
                out.flush();
            } catch (IOException e) {
                // the daemon may have refused the request before reading all of it: its answer says why
                writeFailed = e;
            }
            Response r;
            try {
                r = readHead(in, ch, raw, method);
            } catch (IOException e) {
                if (writeFailed != null) {
                    e.addSuppressed(writeFailed);
                    throw writeFailed;
                }
                throw e;
            }
            return r;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private Connection open() throws IOException {
        try {
            return Connection.open(socket);
        } catch (IOException e) {
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            if (!java.nio.file.Files.exists(socket)) {
                why = "no such socket (is the daemon running?)";
            }
            throw new DaemonUnavailable(socket, why, e);
        }
    }

    private static Response readHead(BufferedInputStream in, Connection ch, OutputStream raw, String method) throws IOException {
        String status = BodyStreams.readLine(in, MAX_LINE, "daemon's response head");
        int read = status.length();
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("the daemon's answer is not HTTP/1.x: \"" + status + "\"");
        }
        int code;
        try {
            code = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IOException("the daemon's answer has a bad status: \"" + status + "\"");
        }
        Map<String, String> headers = new HashMap<>();
        while (true) {
            String line = BodyStreams.readLine(in, MAX_LINE, "daemon's response head");
            read += line.length() + 2;
            if (read > MAX_HEAD) {
                throw new IOException("the daemon's response headers exceed " + MAX_HEAD + " bytes");
            }
            if (line.isEmpty()) {
                break;
            }
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        InputStream body;
        String te = headers.get("transfer-encoding");
        String cl = headers.get("content-length");
        if (code == 101 || method.equals("HEAD") || code == 204 || code == 304) {
            body = code == 101 ? in : InputStream.nullInputStream();
        } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = BodyStreams.dechunked(in, "daemon's response");
        } else if (cl != null) {
            try {
                body = BodyStreams.fixed(in, Long.parseLong(cl.trim()), "daemon's response");
            } catch (NumberFormatException e) {
                throw new IOException("the daemon sent a bad Content-Length: " + cl);
            }
        } else {
            body = in; // to the connection's end (a raw stream after 200 on an old-style hijack)
        }
        return new Response(code, headers, body, ch, raw);
    }
}
