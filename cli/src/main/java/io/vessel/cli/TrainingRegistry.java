package io.vessel.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The smallest registry that {@code vessel push} and {@code vessel pull} can talk to, in memory and
 * on loopback, for {@link AotTraining} only: so that the AOT cache holds the HTTP client's classes
 * (a pull's start-up otherwise spends hundreds of milliseconds loading them). It checks nothing
 * and serves one process; the tests use the real registry.
 */
final class TrainingRegistry implements AutoCloseable {
    private record Stored(String mediaType, byte[] bytes) {
    }

    private final HttpServer server;
    private final Map<String, Stored> blobs = new ConcurrentHashMap<>();
    private final Map<String, Stored> manifests = new ConcurrentHashMap<>();
    private final Map<String, ByteArrayOutputStream> uploads = new ConcurrentHashMap<>();

    TrainingRegistry() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/v2/", this::handle);
        server.start();
    }

    /** host:port, as an image reference's domain. */
    String address() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            String method = x.getRequestMethod();
            byte[] body;
            try (InputStream in = x.getRequestBody()) {
                body = in.readAllBytes();
            }
            int blobsAt = path.indexOf("/blobs/");
            int manifestsAt = path.indexOf("/manifests/");
            if (path.equals("/v2/")) {
                reply(x, 200, "application/json", "{}".getBytes(), method);
            } else if (path.contains("/blobs/uploads/")) {
                upload(x, path, method, body);
            } else if (blobsAt > 0) {
                Stored s = blobs.get(path.substring(blobsAt + 7));
                reply(x, s == null ? 404 : 200, "application/octet-stream", s == null ? new byte[0] : s.bytes(), method);
            } else if (manifestsAt > 0) {
                String key = path.substring(0, manifestsAt) + "@" + path.substring(manifestsAt + 11);
                if (method.equals("PUT")) {
                    Stored s = new Stored(x.getRequestHeaders().getFirst("Content-Type"), body);
                    manifests.put(key, s);
                    manifests.put(path.substring(0, manifestsAt) + "@" + digest(body), s);
                    x.getResponseHeaders().set("Docker-Content-Digest", digest(body));
                    reply(x, 201, "text/plain", new byte[0], method);
                } else {
                    Stored s = manifests.get(key);
                    if (s != null) {
                        x.getResponseHeaders().set("Docker-Content-Digest", digest(s.bytes()));
                    }
                    reply(x, s == null ? 404 : 200, s == null ? "text/plain" : s.mediaType(),
                            s == null ? new byte[0] : s.bytes(), method);
                }
            } else {
                reply(x, 404, "text/plain", new byte[0], method);
            }
        }
    }

    private void upload(HttpExchange x, String path, String method, byte[] body) throws IOException {
        String base = path.substring(0, path.indexOf("/uploads/") + 9);
        if (method.equals("POST")) {
            String id = UUID.randomUUID().toString();
            uploads.put(id, new ByteArrayOutputStream());
            x.getResponseHeaders().set("Location", base + id);
            reply(x, 202, "text/plain", new byte[0], method);
            return;
        }
        String id = path.substring(base.length());
        ByteArrayOutputStream data = uploads.get(id);
        if (data == null) {
            reply(x, 404, "text/plain", new byte[0], method);
            return;
        }
        data.write(body);
        String query = x.getRequestURI().getQuery();
        if (method.equals("PUT") && query != null && query.startsWith("digest=")) {
            String digest = query.substring(7);
            blobs.put(digest, new Stored("application/octet-stream", data.toByteArray()));
            uploads.remove(id);
            x.getResponseHeaders().set("Docker-Content-Digest", digest);
            reply(x, 201, "text/plain", new byte[0], method);
        } else {
            x.getResponseHeaders().set("Location", base + id);
            x.getResponseHeaders().set("Range", "0-" + Math.max(0, data.size() - 1));
            reply(x, 202, "text/plain", new byte[0], method);
        }
    }

    private static void reply(HttpExchange x, int status, String type, byte[] body, String method) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
        if (method.equals("HEAD")) {
            x.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        x.getResponseBody().write(body);
    }

    private static String digest(byte[] bytes) {
        try {
            return "sha256:" + java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
