package io.vessel.cli.client;

import io.vessel.engine.api.http.BodyStreams;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client's decoders on byte-exact input: Docker's multiplexed frames, HTTP chunks, version negotiation. */
class FramingTest {
    private static byte[] frame(int type, String payload) {
        byte[] p = payload.getBytes(StandardCharsets.UTF_8);
        byte[] f = new byte[8 + p.length];
        f[0] = (byte) type;
        f[4] = (byte) (p.length >>> 24);
        f[5] = (byte) (p.length >>> 16);
        f[6] = (byte) (p.length >>> 8);
        f[7] = (byte) p.length;
        System.arraycopy(p, 0, f, 8, p.length);
        return f;
    }

    @Test
    void framesGoToTheirStreams() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(frame(Frames.STDOUT, "out 1\n"));
        all.writeBytes(frame(Frames.STDERR, "err\n"));
        all.writeBytes(frame(Frames.STDOUT, ""));
        all.writeBytes(frame(Frames.STDOUT, "x".repeat(70_000)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Frames.demultiplex(new ByteArrayInputStream(all.toByteArray()), out, err);
        assertEquals("out 1\n" + "x".repeat(70_000), out.toString(StandardCharsets.UTF_8));
        assertEquals("err\n", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void truncatedOrUnknownFramesAreErrors() {
        byte[] f = frame(Frames.STDOUT, "hello");
        OutputStream sink = OutputStream.nullOutputStream();
        assertThrows(EOFException.class, () -> Frames.demultiplex(new ByteArrayInputStream(f, 0, 5), sink, sink));
        assertThrows(EOFException.class, () -> Frames.demultiplex(new ByteArrayInputStream(f, 0, 10), sink, sink));
        IOException e = assertThrows(IOException.class,
                () -> Frames.demultiplex(new ByteArrayInputStream(frame(7, "x")), sink, sink));
        assertTrue(e.getMessage().contains("unknown stream type 7"), e.getMessage());
    }

    @Test
    void chunkedBodiesRoundTrip() throws IOException {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        OutputStream chunks = BodyStreams.chunked(wire);
        chunks.write("hello, ".getBytes(StandardCharsets.UTF_8));
        chunks.write(new byte[0]);
        chunks.write("world".getBytes(StandardCharsets.UTF_8));
        chunks.close();
        assertEquals("7\r\nhello, \r\n5\r\nworld\r\n0\r\n\r\n", wire.toString(StandardCharsets.US_ASCII));
        InputStream in = BodyStreams.dechunked(new ByteArrayInputStream(
                "7;ext=1\r\nhello, \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\nNEXT".getBytes(StandardCharsets.US_ASCII)), "response");
        assertEquals("hello, world", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        InputStream bad = BodyStreams.dechunked(new ByteArrayInputStream("zz\r\n".getBytes(StandardCharsets.US_ASCII)), "response");
        assertThrows(IOException.class, bad::readAllBytes);
        InputStream cut = BodyStreams.dechunked(new ByteArrayInputStream("a\r\nabc".getBytes(StandardCharsets.US_ASCII)), "response");
        assertThrows(EOFException.class, cut::readAllBytes);
    }

    @Test
    void versionIsTheLowerOfBoth() {
        assertEquals("1.44", DockerClient.negotiate("1.44"));
        assertEquals(DockerClient.MAX_API, DockerClient.negotiate("1.51"));
        assertEquals(DockerClient.MAX_API, DockerClient.negotiate("1.100"));
        assertEquals(DockerClient.MAX_API, DockerClient.negotiate(null));
    }
}
