package io.vessel.engine.api.http;

/** The HTTP status codes the server uses (RFC 9110), and their reason phrases. */
public final class Status {
    public static final int SWITCHING_PROTOCOLS = 101;
    public static final int OK = 200;
    public static final int CREATED = 201;
    public static final int NO_CONTENT = 204;
    public static final int NOT_MODIFIED = 304;
    public static final int BAD_REQUEST = 400;
    public static final int UNAUTHORIZED = 401;
    public static final int FORBIDDEN = 403;
    public static final int NOT_FOUND = 404;
    public static final int METHOD_NOT_ALLOWED = 405;
    public static final int CONFLICT = 409;
    public static final int LENGTH_REQUIRED = 411;
    public static final int PAYLOAD_TOO_LARGE = 413;
    public static final int URI_TOO_LONG = 414;
    public static final int HEADERS_TOO_LARGE = 431;
    public static final int INTERNAL_ERROR = 500;
    public static final int NOT_IMPLEMENTED = 501;
    public static final int VERSION_NOT_SUPPORTED = 505;

    private Status() {
    }

    /** The reason phrase for the status line. */
    public static String reason(int status) {
        return switch (status) {
            case SWITCHING_PROTOCOLS -> "Switching Protocols";
            case OK -> "OK";
            case CREATED -> "Created";
            case NO_CONTENT -> "No Content";
            case NOT_MODIFIED -> "Not Modified";
            case BAD_REQUEST -> "Bad Request";
            case UNAUTHORIZED -> "Unauthorized";
            case FORBIDDEN -> "Forbidden";
            case NOT_FOUND -> "Not Found";
            case METHOD_NOT_ALLOWED -> "Method Not Allowed";
            case CONFLICT -> "Conflict";
            case LENGTH_REQUIRED -> "Length Required";
            case PAYLOAD_TOO_LARGE -> "Payload Too Large";
            case URI_TOO_LONG -> "URI Too Long";
            case HEADERS_TOO_LARGE -> "Request Header Fields Too Large";
            case INTERNAL_ERROR -> "Internal Server Error";
            case NOT_IMPLEMENTED -> "Not Implemented";
            case VERSION_NOT_SUPPORTED -> "HTTP Version Not Supported";
            default -> "Status " + status;
        };
    }
}
