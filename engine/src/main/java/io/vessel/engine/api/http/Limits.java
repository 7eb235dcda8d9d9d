package io.vessel.engine.api.http;

/**
 * How much of a request the server reads before refusing it: the API faces any local user in the
 * socket's group, and an unbounded line or body would let one exhaust the daemon's memory.
 *
 * @param maxLine     bytes in the request line or any one header line (414 or 431 beyond)
 * @param maxHeaders  bytes in the whole header section (431 beyond)
 * @param maxJsonBody bytes of a body read into memory, such as a JSON document (413 beyond);
 *                    streamed bodies (a build context, an archive) go to disk and are not bounded here
 * @param maxDrain    bytes of an unread body the server discards to keep a connection alive;
 *                    beyond that it closes the connection instead
 */
public record Limits(int maxLine, int maxHeaders, int maxJsonBody, long maxDrain) {
    /** Go's net/http, which the docker daemon uses, allows 1 MiB of headers; 64 KiB is plenty for the API. */
    public static final Limits DEFAULT = new Limits(16 * 1024, 64 * 1024, 4 * 1024 * 1024, 1024 * 1024);

    public Limits {
        if (maxLine <= 0 || maxHeaders < maxLine || maxJsonBody <= 0 || maxDrain < 0) {
            throw new IllegalArgumentException("limits must be positive and maxHeaders >= maxLine: " + this);
        }
    }
}
