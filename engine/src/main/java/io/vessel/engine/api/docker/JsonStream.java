package io.vessel.engine.api.docker;

import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.Status;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Docker's JSON message stream (pull, push, build, load progress), begun at the first message. An
 * error before that is still answered with a status and {@code {"message"}} (the CLI prints
 * "Error response from daemon"); after it, as the stream's last message,
 * {@code {"errorDetail": {"message"}, "error"}}, which the CLI prints and exits 1 on. Messages may
 * come from several threads (layers move in parallel).
 */
final class JsonStream implements AutoCloseable {
    private final HttpExchange exchange;
    private HttpExchange.JsonLines lines;

    JsonStream(HttpExchange exchange) {
        this.exchange = exchange;
    }

    synchronized void send(Map<String, Object> message) throws IOException {
        if (lines == null) {
            lines = exchange.jsonLines(Status.OK);
        }
        lines.send(message);
    }

    void status(String status) throws IOException {
        send(Map.of("status", status));
    }

    void status(String id, String status) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status);
        m.put("progressDetail", Map.of());
        m.put("id", id);
        send(m);
    }

    /** A line of build output, {@code {"stream": "..."}}. */
    void stream(String text) throws IOException {
        send(Map.of("stream", text));
    }

    void aux(Map<String, Object> aux) throws IOException {
        send(Map.of("progressDetail", Map.of(), "aux", aux));
    }

    synchronized boolean started() {
        return lines != null;
    }

    /**
     * Reports {@code failure}: rethrown (to become an error status) when nothing was sent yet,
     * else sent as the stream's errorDetail.
     */
    void fail(Exception failure) throws Exception {
        if (!started()) {
            throw failure;
        }
        String msg = DockerApi.error(failure).getMessage();
        send(Map.of("errorDetail", Map.of("message", msg), "error", msg));
    }

    @Override
    public synchronized void close() throws IOException {
        if (lines != null) {
            lines.close();
        }
    }
}
