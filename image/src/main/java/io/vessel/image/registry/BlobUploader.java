package io.vessel.image.registry;

import io.vessel.image.Digest;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.registry.ProgressListener.ProgressEvent;
import io.vessel.image.registry.ProgressListener.State;
import io.vessel.image.store.BlobStore;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * Uploads one blob from a {@link BlobStore} to a repository, the cheapest way the registry allows:
 * nothing if it has the blob (HEAD), a cross-repository mount when a source repository is known,
 * else one PUT for blobs up to the chunk size and PATCH chunks (each to the Location the previous
 * answer gave) followed by a closing PUT above it. The registry checks the digest on the final PUT.
 */
final class BlobUploader {
    private static final String OCTET_STREAM = "application/octet-stream";
    /** Bytes between two PUSHING events within one request body. */
    private static final long PROGRESS_STEP = 256 * 1024;

    private final Transport transport;
    private final long chunkSize;
    private final Duration timeout;

    BlobUploader(Transport transport, long chunkSize, Duration timeout) {
        this.transport = transport;
        this.chunkSize = chunkSize;
        this.timeout = timeout;
    }

    /**
     * @param mountFrom a repository on the same registry that has the blob, or null
     */
    void upload(Transport.Op op, String repository, Descriptor d, BlobStore store, String mountFrom,
                ProgressListener listener) throws IOException {
        String id = BlobDownloader.shortId(d);
        List<String> scopes = RegistryClient.pushScopes(repository);
        URI base = transport.base(op.registry());
        if (exists(op, scopes, base.resolve(repository + "/blobs/" + d.digest()))) {
            listener.onEvent(new ProgressEvent(id, State.LAYER_EXISTS, d.size(), d.size(), ""));
            return;
        }
        if (!store.exists(d.digest())) {
            throw op.fail(0, "BLOB_UNKNOWN", "blob " + d.digest() + " is not in the local store " + store.root());
        }
        URI uploads = base.resolve(repository + "/blobs/uploads/");
        URI location = null;
        if (mountFrom != null && !mountFrom.equals(repository)) {
            List<String> mountScopes = List.of(scopes.get(0), "repository:" + mountFrom + ":pull");
            URI mount = URI.create(uploads + "?mount=" + enc(d.digest().toString()) + "&from=" + enc(mountFrom));
            HttpResponse<InputStream> r = transport.send(op, mountScopes,
                    u -> HttpRequest.newBuilder(u).POST(HttpRequest.BodyPublishers.noBody()).timeout(timeout), mount, false);
            Transport.drain(r);
            if (r.statusCode() == 201) {
                listener.onEvent(new ProgressEvent(id, State.MOUNTED, d.size(), d.size(), mountFrom));
                return;
            }
            location = location(op, r, mount); // 202: the registry could not mount and opened an upload instead
        }
        if (location == null) {
            HttpResponse<InputStream> r = transport.send(op, scopes,
                    u -> HttpRequest.newBuilder(u).POST(HttpRequest.BodyPublishers.noBody()).timeout(timeout), uploads, false);
            Transport.drain(r);
            location = location(op, r, uploads);
        }
        listener.onEvent(new ProgressEvent(id, State.PUSHING, 0, d.size(), ""));
        if (d.size() > chunkSize) {
            location = chunks(op, scopes, d, store, location, listener, id);
            put(op, scopes, d, location, HttpRequest.BodyPublishers::noBody);
        } else {
            put(op, scopes, d, location, () -> body(() -> counting(store.open(d.digest()), 0, d, listener, id), d.size()));
        }
        listener.onEvent(new ProgressEvent(id, State.PUSHED, d.size(), d.size(), ""));
    }

    private boolean exists(Transport.Op op, List<String> scopes, URI blob) throws IOException {
        try {
            HttpResponse<InputStream> r = transport.send(op, scopes,
                    u -> HttpRequest.newBuilder(u).method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(timeout),
                    blob, true);
            Transport.drain(r);
            return r.statusCode() == 200;
        } catch (RegistryException e) {
            if (e.notFound()) {
                return false;
            }
            throw e;
        }
    }

    /** PATCHes the blob in chunks; returns the Location to close the upload at. */
    private URI chunks(Transport.Op op, List<String> scopes, Descriptor d, BlobStore store, URI location,
                       ProgressListener listener, String id) throws IOException {
        for (long offset = 0; offset < d.size(); ) {
            long start = offset;
            long length = Math.min(chunkSize, d.size() - offset);
            URI at = location;
            HttpResponse<InputStream> r = transport.send(op, scopes, u -> HttpRequest.newBuilder(u)
                    .method("PATCH", body(() -> slice(store, d, start, length, listener, id), length))
                    .header("Content-Type", OCTET_STREAM)
                    .header("Content-Range", start + "-" + (start + length - 1)), at, false);
            Transport.drain(r);
            if (r.statusCode() != 202) {
                throw op.fail(r.statusCode(), null, "chunk " + start + "-" + (start + length - 1) + " of blob "
                        + d.digest() + ": expected 202, got " + r.statusCode());
            }
            String range = r.headers().firstValue("Range").orElse(null);
            if (range != null && !range.equals("0-" + (start + length - 1)) && !range.equals("bytes=0-" + (start + length - 1))) {
                throw op.fail(r.statusCode(), null, "after chunk " + start + "-" + (start + length - 1) + " of blob "
                        + d.digest() + " the registry has range " + range);
            }
            location = location(op, r, at);
            offset += length;
        }
        return location;
    }

    private void put(Transport.Op op, List<String> scopes, Descriptor d, URI location,
                     Supplier<HttpRequest.BodyPublisher> body) throws IOException {
        String sep = location.getRawQuery() == null ? "?" : "&";
        URI put = URI.create(location + sep + "digest=" + enc(d.digest().toString()));
        HttpResponse<InputStream> r = transport.send(op, scopes, u -> HttpRequest.newBuilder(u)
                .PUT(body.get()).header("Content-Type", OCTET_STREAM), put, false);
        Transport.drain(r);
        if (r.statusCode() != 201) {
            throw op.fail(r.statusCode(), null, "upload of blob " + d.digest() + ": expected 201, got " + r.statusCode());
        }
        checkDigest(op, r, d.digest(), "blob");
    }

    static void checkDigest(Transport.Op op, HttpResponse<?> r, Digest expected, String what) throws RegistryException {
        String returned = r.headers().firstValue("Docker-Content-Digest").orElse(null);
        if (returned != null && !returned.equals(expected.toString())) {
            throw op.fail(r.statusCode(), "DIGEST_INVALID", "the registry stored " + what + " " + expected + " as "
                    + returned);
        }
    }

    private static URI location(Transport.Op op, HttpResponse<?> r, URI request) throws RegistryException {
        String loc = r.headers().firstValue("Location").orElse(null);
        if (r.statusCode() != 202 || loc == null || loc.isEmpty()) {
            throw op.fail(r.statusCode(), null, "expected 202 with a Location for the upload, got " + r.statusCode()
                    + (loc == null ? " without a Location" : ""));
        }
        return request.resolve(loc);
    }

    /** A body of known length from a stream opened anew for each attempt. */
    private static HttpRequest.BodyPublisher body(IoSupplier in, long length) {
        if (length == 0) {
            return HttpRequest.BodyPublishers.noBody();
        }
        return HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> {
            try {
                return in.get();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }), length);
    }

    @FunctionalInterface
    private interface IoSupplier {
        InputStream get() throws IOException;
    }

    /** {@code length} bytes of the stored blob from {@code offset}. The registry verifies the digest at the end. */
    private static InputStream slice(BlobStore store, Descriptor d, long offset, long length, ProgressListener listener,
                                     String id) throws IOException {
        FileChannel ch = FileChannel.open(store.path(d.digest()), StandardOpenOption.READ);
        ch.position(offset);
        InputStream limited = new FilterInputStream(Channels.newInputStream(ch)) {
            private long left = length;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = super.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }
        };
        return counting(limited, offset, d, listener, id);
    }

    /** Reports PUSHING events as the stream is read, counting from {@code base}. */
    private static InputStream counting(InputStream in, long base, Descriptor d, ProgressListener listener, String id) {
        return new FilterInputStream(in) {
            private long done = base;
            private long next = base + PROGRESS_STEP;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n > 0) {
                    done += n;
                    if (done >= next) {
                        next = done + PROGRESS_STEP;
                        listener.onEvent(new ProgressEvent(id, State.PUSHING, done, d.size(), ""));
                    }
                }
                return n;
            }
        };
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
