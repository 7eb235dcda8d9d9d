package io.vessel.engine.api.http;

/** Serves one request; what it throws becomes an error response (see {@link HttpServer}). */
@FunctionalInterface
public interface Handler {
    void handle(HttpRequest request, HttpExchange exchange) throws Exception;
}
