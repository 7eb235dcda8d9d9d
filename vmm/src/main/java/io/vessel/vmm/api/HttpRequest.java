package io.vessel.vmm.api;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One HTTP/1.1 request as the control socket received it: method, path (without a query), header
 * fields with lower-case names, and the body (empty without one).
 */
public record HttpRequest(String method, String path, Map<String, String> headers, byte[] body) {
    public HttpRequest {
        headers = Map.copyOf(headers);
    }

    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return method + " " + path;
    }
}
