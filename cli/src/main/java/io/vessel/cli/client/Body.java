package io.vessel.cli.client;

import io.vessel.engine.api.http.BodyStreams;
import io.vessel.json.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A request's body: none, bytes known in advance (Content-Length), or a stream written as it comes
 * (chunked). Each kind frames itself (methods rather than a type switch at the call site: a pattern
 * switch's first run spins a class, which a short-lived CLI pays for on every command).
 */
public sealed interface Body {
    Body NONE = new Empty();

    /** Appends the headers that describe this body to a request of {@code method}. */
    void appendHeaders(StringBuilder head, String method);

    /** Writes this body, framed as its headers said. */
    void writeTo(OutputStream out) throws IOException;

    /** A JSON document, as the API's create and update routes take. */
    static Body json(Object value) {
        return new Bytes(Json.write(value).getBytes(StandardCharsets.UTF_8), "application/json");
    }

    record Empty() implements Body {
        @Override
        public void appendHeaders(StringBuilder head, String method) {
            if (!method.equals("GET") && !method.equals("HEAD")) {
                head.append("Content-Length: 0\r\n");
            }
        }

        @Override
        public void writeTo(OutputStream out) {
        }
    }

    record Bytes(byte[] data, String contentType) implements Body {
        @Override
        public void appendHeaders(StringBuilder head, String method) {
            head.append("Content-Type: ").append(contentType).append("\r\n")
                    .append("Content-Length: ").append(data.length).append("\r\n");
        }

        @Override
        public void writeTo(OutputStream out) throws IOException {
            out.write(data);
        }
    }

    /** Written by {@code producer} into the connection, in chunks: a build context, an archive to load. */
    record Streamed(Producer producer, String contentType) implements Body {
        @Override
        public void appendHeaders(StringBuilder head, String method) {
            head.append("Content-Type: ").append(contentType).append("\r\n").append("Transfer-Encoding: chunked\r\n");
        }

        @Override
        public void writeTo(OutputStream out) throws IOException {
            OutputStream chunks = BodyStreams.chunked(out);
            producer.writeTo(chunks);
            chunks.close();
        }
    }

    @FunctionalInterface
    interface Producer {
        void writeTo(OutputStream out) throws IOException;
    }
}
