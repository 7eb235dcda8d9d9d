package io.vessel.image.registry;

import io.vessel.image.oci.Descriptor;
import io.vessel.image.registry.ProgressListener.ProgressEvent;
import io.vessel.image.registry.ProgressListener.State;
import io.vessel.image.store.BlobStore;
import io.vessel.image.store.VerificationException;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Downloads one blob into a {@link BlobStore}, resumably: bytes go to the store's partial file
 * for the digest, which survives a failed attempt or a killed process; the next attempt asks for
 * the rest with {@code Range: bytes=N-} (starting over if the registry answers 200 instead of
 * 206). Only a complete file is handed to {@link BlobStore#adopt}, which verifies digest and size.
 * Two downloads of one blob, in this process or another, take turns on a lock of the partial file.
 */
final class BlobDownloader {
    private static final int BUFFER = 64 * 1024;
    /** Bytes between two DOWNLOADING events. */
    private static final long PROGRESS_STEP = 256 * 1024;
    /** In-process guard: a FileLock is per process, so threads of one JVM take turns here first. */
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCAL = new ConcurrentHashMap<>();

    private final Transport transport;
    private final int retries;

    BlobDownloader(Transport transport, int retries) {
        this.transport = transport;
        this.retries = retries;
    }

    /** Fetches {@code d} from {@code repository} into {@code store} unless it is there already. */
    void download(Transport.Op op, List<String> scopes, String repository, Descriptor d, BlobStore store,
                  ProgressListener listener) throws IOException {
        String id = shortId(d);
        if (store.exists(d.digest())) {
            listener.onEvent(new ProgressEvent(id, State.ALREADY_EXISTS, d.size(), d.size(), ""));
            return;
        }
        Path partial = store.partialPath(d.digest());
        Files.createDirectories(partial.getParent());
        ReentrantLock local = LOCAL.computeIfAbsent(partial, p -> new ReentrantLock());
        local.lock();
        try {
            for (int tries = 0; ; tries++) {
                try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.READ);
                     FileLock lock = ch.lock()) {
                    if (store.exists(d.digest())) { // another process finished it while this one waited
                        listener.onEvent(new ProgressEvent(id, State.ALREADY_EXISTS, d.size(), d.size(), ""));
                        return;
                    }
                    if (!Files.exists(partial) && tries < 3) {
                        continue; // the holder removed the file (a refused blob): open the new one
                    }
                    fetch(op, scopes, repository, d, ch, listener, id);
                    listener.onEvent(new ProgressEvent(id, State.VERIFYING, d.size(), d.size(), ""));
                    try {
                        store.adopt(partial, d.digest(), d.size());
                    } catch (VerificationException e) {
                        throw op.fail(0, "DIGEST_INVALID", "refused blob " + d.digest() + " from the registry: "
                                + e.getMessage());
                    }
                    listener.onEvent(new ProgressEvent(id, State.DOWNLOAD_COMPLETE, d.size(), d.size(), ""));
                    return;
                }
            }
        } finally {
            local.unlock();
        }
    }

    /** Appends to {@code ch} until it holds {@code d.size()} bytes, retrying on network errors. */
    private void fetch(Transport.Op op, List<String> scopes, String repository, Descriptor d, FileChannel ch,
                       ProgressListener listener, String id) throws IOException {
        URI uri = transport.base(op.registry()).resolve(repository + "/blobs/" + d.digest());
        int failures = 0;
        while (true) {
            long have = ch.size();
            if (have > d.size()) {
                ch.truncate(0); // more than the blob can have: not a prefix of it
                have = 0;
            }
            if (have == d.size()) {
                return;
            }
            long from = have;
            try {
                HttpResponse<InputStream> response = transport.send(op, scopes, u -> {
                    HttpRequest.Builder b = HttpRequest.newBuilder(u).GET();
                    if (from > 0) {
                        b.header("Range", "bytes=" + from + "-");
                    }
                    return b;
                }, uri, true);
                long position = from;
                if (response.statusCode() == 206) {
                    long start = rangeStart(response);
                    if (start != from) {
                        Transport.drain(response);
                        ch.truncate(0);
                        throw new IOException("the registry answered bytes " + start + "- to a request for " + from + "-");
                    }
                } else if (response.statusCode() == 200) {
                    ch.truncate(0); // the registry ignored the Range: the body is the whole blob
                    position = 0;
                } else {
                    Transport.drain(response);
                    throw op.fail(response.statusCode(), null, "unexpected status " + response.statusCode()
                            + " for blob " + d.digest());
                }
                listener.onEvent(new ProgressEvent(id, State.DOWNLOADING, position, d.size(), ""));
                copy(response, ch, position, d, listener, id);
                return;
            } catch (RegistryException e) {
                throw e;
            } catch (InterruptedIOException e) {
                throw e;
            } catch (IOException e) {
                if (Thread.currentThread().isInterrupted() || ++failures > retries) {
                    throw new IOException(op.operation() + " " + op.registry() + "/" + repository + ": blob "
                            + d.digest() + " failed after " + failures + " attempt(s), " + ch.size() + " of "
                            + d.size() + " bytes kept for the next pull: " + e.getMessage(), e);
                }
            }
        }
    }

    private static void copy(HttpResponse<InputStream> response, FileChannel ch, long position, Descriptor d,
                             ProgressListener listener, String id) throws IOException {
        long next = position + PROGRESS_STEP;
        try (InputStream in = response.body()) {
            byte[] buffer = new byte[BUFFER];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedIOException("download of " + d.digest() + " interrupted");
                }
                if (position + n > d.size()) {
                    throw new VerificationException("blob " + d.digest() + ": the registry sent more than its "
                            + d.size() + " bytes");
                }
                ByteBuffer bb = ByteBuffer.wrap(buffer, 0, n);
                while (bb.hasRemaining()) {
                    position += ch.write(bb, position);
                }
                if (position >= next) {
                    next = position + PROGRESS_STEP;
                    listener.onEvent(new ProgressEvent(id, State.DOWNLOADING, position, d.size(), ""));
                }
            }
        }
        if (position < d.size()) {
            throw new IOException("connection closed after " + position + " of " + d.size() + " bytes");
        }
        listener.onEvent(new ProgressEvent(id, State.DOWNLOADING, position, d.size(), ""));
    }

    /** The first byte of a 206's {@code Content-Range: bytes S-E/T}, or -1. */
    private static long rangeStart(HttpResponse<?> response) {
        String cr = response.headers().firstValue("Content-Range").orElse("");
        if (!cr.startsWith("bytes ")) {
            return -1;
        }
        int dash = cr.indexOf('-');
        try {
            return dash < 0 ? -1 : Long.parseLong(cr.substring(6, dash).trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Docker's short id of a blob: the first 12 hex digits of its digest. */
    static String shortId(Descriptor d) {
        return d.digest().hex().substring(0, 12);
    }
}
