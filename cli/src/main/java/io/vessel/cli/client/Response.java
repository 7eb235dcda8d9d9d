package io.vessel.cli.client;

import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * A response from the daemon: its status, headers (names lower-cased) and body, whose framing
 * (Content-Length, chunked, or to the connection's end) is already decoded. Closing it closes the
 * connection.
 */
public final class Response implements Closeable {
    private final int status;
    private final Map<String, String> headers;
    private final InputStream body;
    private final Connection connection;
    private final java.io.OutputStream rawOutput;

    Response(int status, Map<String, String> headers, InputStream body, Connection connection, java.io.OutputStream rawOutput) {
        this.status = status;
        this.headers = headers;
        this.body = body;
        this.connection = connection;
        this.rawOutput = rawOutput;
    }

    Connection connection() {
        return connection;
    }

    java.io.OutputStream rawOutput() {
        return rawOutput;
    }

    public int status() {
        return status;
    }

    public String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
    }

    public InputStream body() {
        return body;
    }

    public boolean ok() {
        return status >= 200 && status < 300;
    }

    public String text() throws IOException {
        return new String(body.readAllBytes(), StandardCharsets.UTF_8);
    }

    /** The body as JSON, after {@link #check}. */
    public JsonNode json() throws IOException {
        check();
        String text = text();
        try {
            return JsonNode.root("the daemon's response", Json.parse(text));
        } catch (JsonException e) {
            throw new IOException("the daemon's response is not JSON: " + e.getMessage(), e);
        }
    }

    /** Throws the daemon's error ({@code {"message"}}) when the status is not 2xx. */
    public Response check() throws IOException {
        if (ok() || status == 101 || status == 304) {
            return this;
        }
        String text = text();
        String message = text.strip();
        try {
            JsonNode n = JsonNode.root("error", Json.parse(text));
            if (n.isObject() && n.get("message").present()) {
                message = n.get("message").string("");
            }
        } catch (JsonException notJson) {
            // the body as it is
        }
        throw new ApiError(status, message.isEmpty() ? "HTTP status " + status : message);
    }

    @Override
    public void close() throws IOException {
        connection.close();
    }
}
