package io.vessel.cli.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Both kinds of {@link Connection} against a real Unix socket: bytes each way, a half-close that
 * leaves the other direction open, close waking a blocked reader, and a missing socket's error.
 * The native kind needs libvessel-client.so beside {@code -Dvessel.launcher} (make test sets it).
 */
class ConnectionTest {
    private Path dir;
    private ServerSocketChannel server;
    private Path socket;

    @BeforeEach
    void listen() throws IOException {
        dir = Files.createTempDirectory("vessel-conn");
        socket = dir.resolve("s.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    @AfterEach
    void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
        Files.delete(dir);
    }

    private interface Opener {
        Connection open(Path socket) throws IOException;
    }

    private static void assumeNative() {
        assumeTrue(NativeConnection.available(), "libvessel-client.so is not beside -Dvessel.launcher ("
                + System.getProperty("vessel.launcher") + "): run through make test");
    }

    @Test
    void nativeCarriesBytesAndHalfCloses() throws Exception {
        assumeNative();
        exchange(NativeConnection::open);
    }

    @Test
    void channelCarriesBytesAndHalfCloses() throws Exception {
        exchange(ChannelConnection::open);
    }

    @Test
    void nativeCloseWakesABlockedReader() throws Exception {
        assumeNative();
        closeWakesReader(NativeConnection::open);
    }

    @Test
    void channelCloseWakesABlockedReader() throws Exception {
        closeWakesReader(ChannelConnection::open);
    }

    @Test
    void aMissingSocketIsNamedInTheError() {
        assumeNative();
        Path missing = dir.resolve("nothing.sock");
        IOException e = assertThrows(IOException.class, () -> NativeConnection.open(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("No such file"), e.getMessage());
    }

    @Test
    void aPathTooLongForSockaddrIsRefused() {
        assumeNative();
        IOException e = assertThrows(IOException.class, () -> NativeConnection.open(Path.of("/" + "x".repeat(200))));
        assertTrue(e.getMessage().contains("too long"), e.getMessage());
    }

    private void exchange(Opener opener) throws Exception {
        byte[] big = new byte[1 << 20];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        // the peer reads everything up to the half-close, then answers with what it got
        CompletableFuture<byte[]> peer = CompletableFuture.supplyAsync(() -> {
            try (SocketChannel ch = server.accept()) {
                ByteBuffer all = ByteBuffer.allocate(big.length + 16);
                while (ch.read(all) >= 0) {
                    // until the client's half-close
                }
                all.flip();
                byte[] got = new byte[all.remaining()];
                all.get(got);
                ch.write(ByteBuffer.wrap(("got " + got.length).getBytes(StandardCharsets.UTF_8)));
                return got;
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        try (Connection c = opener.open(socket)) {
            c.output().write(big);
            c.output().flush();
            c.shutdownOutput();
            String answer = new String(c.input().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("got " + big.length, answer);
        }
        assertArrayEquals(big, peer.get(10, TimeUnit.SECONDS));
    }

    private void closeWakesReader(Opener opener) throws Exception {
        Connection c = opener.open(socket);
        try (SocketChannel accepted = server.accept()) {
            InputStream in = c.input();
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    return in.read();
                } catch (IOException e) {
                    return -2; // an asynchronous close, as the channel reports it
                }
            });
            Thread.sleep(100);
            assertTrue(!reader.isDone(), "nothing was sent, so the read blocks");
            c.close();
            int r = reader.get(10, TimeUnit.SECONDS);
            assertTrue(r == -1 || r == -2, "the blocked read ended with " + r);
        }
    }
}
