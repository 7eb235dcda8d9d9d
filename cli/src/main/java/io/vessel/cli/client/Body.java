package io.vessel.cli.client;

import io.vessel.json.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** A request's body: none, bytes known in advance (Content-Length), or a stream written as it comes (chunked). */
public sealed interface Body {
    Body NONE = new Empty();

    /** A JSON document, as the API's create and update routes take. */
    static Body json(Object value) {
        return new Bytes(Json.write(value).getBytes(StandardCharsets.UTF_8), "application/json");
    }

    record Empty() implements Body {
    }

    record Bytes(byte[] data, String contentType) implements Body {
    }

    /** Written by {@code producer} into the connection, in chunks: a build context, an archive to load. */
    record Streamed(Producer producer, String contentType) implements Body {
    }

    @FunctionalInterface
    interface Producer {
        void writeTo(OutputStream out) throws IOException;
    }
}
