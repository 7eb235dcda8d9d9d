package io.vessel.image.archive;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bounded in-memory pipe between one writer thread and one reader thread, which the writer can
 * also fail: the reader then gets the writer's error instead of an end of stream, so a consumer such as
 * {@link io.vessel.image.store.BlobStore#put} never takes a stream cut short for complete content.
 */
final class Pipe {
    /** Chunks in flight; with 64 KiB writes, at most about 1 MiB is buffered. */
    private static final int CAPACITY = 16;
    private static final long POLL_MILLIS = 100;
    private static final Object EOF = new Object();

    private record Failure(IOException error) {
    }

    private final BlockingQueue<Object> chunks = new ArrayBlockingQueue<>(CAPACITY);
    private volatile boolean readerClosed;

    /** The writing end; {@code close()} ends the stream normally. */
    OutputStream sink() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[]{(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (len > 0) {
                    offer(Arrays.copyOfRange(b, off, off + len));
                }
            }

            @Override
            public void close() throws IOException {
                offer(EOF);
            }
        };
    }

    /** Makes the reader fail with {@code error} (once it has read what is queued before it is dropped). */
    void fail(IOException error) {
        chunks.clear();
        chunks.offer(new Failure(error)); // the queue was just emptied and only this thread adds
    }

    private void offer(Object chunk) throws IOException {
        try {
            while (!chunks.offer(chunk, POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                if (readerClosed) {
                    throw new IOException("pipe: the reading side closed");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("pipe: interrupted while writing");
        }
    }

    /** The reading end. */
    InputStream source() {
        return new InputStream() {
            private byte[] current;
            private int pos;
            private boolean ended;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                while (current == null || pos == current.length) {
                    if (ended) {
                        return -1;
                    }
                    Object next;
                    try {
                        next = chunks.take();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("pipe: interrupted while reading");
                    }
                    if (next == EOF) {
                        ended = true;
                        return -1;
                    }
                    if (next instanceof Failure f) {
                        throw new IOException(f.error().getMessage(), f.error());
                    }
                    current = (byte[]) next;
                    pos = 0;
                }
                int n = Math.min(len, current.length - pos);
                System.arraycopy(current, pos, b, off, n);
                pos += n;
                return n;
            }

            @Override
            public void close() {
                readerClosed = true;
                chunks.clear();
            }
        };
    }
}
