package io.vessel.engine.api.http;

import io.vessel.engine.api.RawClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HTTP server on a real Unix socket, driven by raw bytes. */
class HttpServerTest {
    private Path dir;
    private Path socket;
    private HttpServer server;

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory("vessel-http-");
        socket = dir.resolve("api.sock");
        Router r = new Router()
                .get("/things/{name*}/json", (req, ex) -> ex.json(200, Map.of("name", req.param("name"), "q", req.query("q", ""))))
                .post("/echo", (req, ex) -> ex.send(200, "application/octet-stream", req.readBody()))
                .get("/stream", (req, ex) -> {
                    try (var lines = ex.jsonLines(200)) {
                        lines.send(Map.of("n", 1));
                        lines.send(Map.of("n", 2));
                    }
                })
                .post("/hijack", (req, ex) -> {
                    HttpExchange.Hijacked h = ex.hijack("application/vnd.docker.raw-stream");
                    InputStream in = h.in();
                    OutputStream out = h.out();
                    byte[] buf = new byte[5];
                    int n = in.readNBytes(buf, 0, 5);
                    out.write(("got " + new String(buf, 0, n, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    h.closeWrite().run();
                })
                .get("/boom", (req, ex) -> {
                    throw new IllegalStateException("it broke");
                });
        server = HttpServer.start(socket, r, new Limits(1024, 4096, 64, 1 << 20),
                t -> new ApiException(t instanceof IllegalArgumentException ? 400 : 500, t.getMessage()), Map.of("Server", "test"),
                HttpServer.Log.NONE);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        io.vessel.linux.FileTrees.remove(dir);
    }

    @Test
    void socketIsPrivateToItsGroupAndTheSecondServerIsRefused() throws IOException {
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        IOException e = assertThrows(IOException.class, () -> HttpServer.start(socket, new Router(), Limits.DEFAULT,
                t -> new ApiException(500, "x"), Map.of(), HttpServer.Log.NONE));
        assertTrue(e.getMessage().contains("already listening"), e.getMessage());
    }

    @Test
    void staleSocketIsReplacedAndOtherFilesAreNot() throws IOException {
        server.close();
        // a socket file nobody listens on: what a crashed server leaves
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(java.net.UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        server = HttpServer.start(socket, new Router().get("/x", (q, x) -> x.text(200, "ok")), Limits.DEFAULT,
                t -> new ApiException(500, "x"), Map.of(), HttpServer.Log.NONE);
        assertEquals(200, RawClient.exchange(socket, "GET /x HTTP/1.1\r\nHost: d\r\n\r\n").status());
        Path plain = dir.resolve("plain");
        Files.writeString(plain, "data");
        assertThrows(IOException.class, () -> HttpServer.start(plain, new Router(), Limits.DEFAULT,
                t -> new ApiException(500, "x"), Map.of(), HttpServer.Log.NONE));
        assertEquals("data", Files.readString(plain));
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void keepAliveRoutesTemplatesAndQueries() throws IOException {
        try (RawClient c = new RawClient(socket)) {
            c.send("GET /things/127.0.0.1:5000/a/b:1/json?q=x%20y HTTP/1.1\r\nHost: d\r\n\r\n");
            RawClient.Response r = c.read();
            assertEquals(200, r.status());
            assertEquals(Map.of("name", "127.0.0.1:5000/a/b:1", "q", "x y"), io.vessel.json.Json.parse(r.body()));
            assertEquals("test", r.header("Server"));
            c.send("POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\n\r\nhello");
            assertEquals("hello", c.read().body());
            c.send("POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
            assertEquals("abcde", c.read().body());
            c.send("GET /stream HTTP/1.1\r\nHost: d\r\n\r\n");
            RawClient.Response s = c.read();
            assertEquals("chunked", s.header("Transfer-Encoding"));
            assertEquals("{\"n\":1}\n{\"n\":2}\n", s.body());
            c.send("GET /nothing HTTP/1.1\r\nHost: d\r\n\r\n");
            RawClient.Response nf = c.read();
            assertEquals(404, nf.status());
            assertTrue(nf.body().contains("\"message\""), nf.body());
            c.send("DELETE /echo HTTP/1.1\r\nHost: d\r\n\r\n");
            assertEquals(405, c.read().status());
            c.send("GET /boom HTTP/1.1\r\nHost: d\r\n\r\n");
            RawClient.Response boom = c.read();
            assertEquals(500, boom.status());
            assertEquals("{\"message\":\"it broke\"}\n", boom.body());
            c.send("HEAD /things/a/json HTTP/1.1\r\nHost: d\r\n\r\n");
            RawClient.Response head = c.readHead(); // HEAD is routed only where registered; no body follows
            assertEquals(405, head.status());
            assertEquals("GET", head.header("Allow"));
            c.send("GET /things/b/json HTTP/1.1\r\nHost: d\r\n\r\n");
            assertTrue(c.read().body().contains("\"b\""), "the connection is still in step after HEAD");
        }
    }

    @Test
    void malformedAndOversizedRequestsGetJsonErrors() throws IOException {
        assertEquals(400, RawClient.exchange(socket, "NONSENSE\r\n\r\n").status());
        assertEquals(505, RawClient.exchange(socket, "GET / HTTP/2.0\r\n\r\n").status());
        RawClient.Response longLine = RawClient.exchange(socket, "GET /" + "a".repeat(2000) + " HTTP/1.1\r\n\r\n");
        assertEquals(414, longLine.status());
        assertTrue(longLine.body().startsWith("{\"message\":"), longLine.body());
        StringBuilder many = new StringBuilder("GET /stream HTTP/1.1\r\n");
        for (int i = 0; i < 100; i++) {
            many.append("X-Filler-").append(i).append(": ").append("v".repeat(60)).append("\r\n");
        }
        assertEquals(431, RawClient.exchange(socket, many + "\r\n").status());
        RawClient.Response big = RawClient.exchange(socket, "POST /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(100));
        assertEquals(413, big.status());
        assertEquals(413, RawClient.exchange(socket, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n"
                + "x".repeat(256) + "\r\n0\r\n\r\n").status());
        assertEquals(400, RawClient.exchange(socket, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").status());
        assertEquals(400, RawClient.exchange(socket,
                "POST /echo HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n").status());
        assertEquals(400, RawClient.exchange(socket, "POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n").status());
        assertEquals(400, RawClient.exchange(socket, "GET /things/%zz/json HTTP/1.1\r\n\r\n").status());
        // still serving
        assertEquals(200, RawClient.exchange(socket, "GET /things/a/json HTTP/1.1\r\nHost: d\r\n\r\n").status());
    }

    @Test
    void hijackUpgradesAndStreamsBothWays() throws IOException {
        try (RawClient c = new RawClient(socket)) {
            c.send("POST /hijack HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello");
            RawClient.Response r = c.read();
            assertEquals(101, r.status());
            assertEquals("tcp", r.header("Upgrade"));
            assertEquals("got hello", new String(c.input().readAllBytes(), StandardCharsets.US_ASCII));
        }
        try (RawClient c = new RawClient(socket)) {
            // an old client: no upgrade, 200 and the raw stream after the headers
            c.send("POST /hijack HTTP/1.1\r\nHost: d\r\n\r\nworld");
            RawClient.Response r = c.read();
            assertEquals(200, r.status());
            assertEquals("got world", r.body());
            assertFalse(r.headers().containsKey("content-length"));
        }
    }
}
