package io.vessel.vmm.api;

import io.vessel.json.Json;

import java.util.Map;

/**
 * A response of the control API: a status and a JSON body (null for none). Errors carry
 * Firecracker's shape, {@code {"fault_message": "..."}}.
 */
public record HttpResponse(int status, String json) {
    public static final int OK = 200, NO_CONTENT = 204, BAD_REQUEST = 400, INTERNAL_ERROR = 500;

    public static HttpResponse noContent() {
        return new HttpResponse(NO_CONTENT, null);
    }

    public static HttpResponse ok(Object body) {
        return new HttpResponse(OK, Json.write(body));
    }

    public static HttpResponse fault(int status, String message) {
        return new HttpResponse(status, Json.write(Map.of("fault_message", message)));
    }

    /** The reason phrase for the status line (RFC 9110, section 15). */
    String reason() {
        return switch (status) {
            case OK -> "OK";
            case NO_CONTENT -> "No Content";
            case BAD_REQUEST -> "Bad Request";
            case INTERNAL_ERROR -> "Internal Server Error";
            default -> "Status " + status;
        };
    }
}
