package io.vessel.engine;

import io.vessel.engine.container.Monitor;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A client's streams to a container or an exec, which may be asked for before the process starts
 * (docker run attaches, then starts): they connect to the monitor once it exists. Without a
 * terminal, {@link #output()} carries Docker's multiplexed frames, with one raw bytes — what the
 * Docker API's hijacked attach stream carries, so a server can copy it through.
 */
public final class Attachment implements Closeable {
    private final boolean tty;
    final boolean stdin;
    final boolean stdout;
    final boolean stderr;
    private final CompletableFuture<Monitor.Attach> connection = new CompletableFuture<>();

    Attachment(boolean tty, boolean stdin, boolean stdout, boolean stderr) {
        this.tty = tty;
        this.stdin = stdin;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** Whether the stream is raw (a terminal) rather than multiplexed. */
    public boolean tty() {
        return tty;
    }

    void connected(Monitor.Attach a) {
        if (!connection.complete(a)) {
            try {
                a.close(); // closed by the client before the process started
            } catch (IOException ignored) {
                // nothing to tell anyone
            }
        }
    }

    void failed(Throwable t) {
        connection.completeExceptionally(t);
    }

    private Monitor.Attach get() throws IOException {
        try {
            return connection.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the container to start");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
        }
    }

    /** The container's output; blocks until the process has started. */
    public InputStream output() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                return get().output().read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return get().output().read(b, off, len);
            }
        };
    }

    /** The container's stdin (if attached with it); blocks until the process has started. */
    public OutputStream input() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                get().input().write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                get().input().write(b, off, len);
            }
        };
    }

    /** Ends this client's input (and the container's stdin when it was started with stdin-once). */
    public void closeInput() throws IOException {
        get().closeInput();
    }

    @Override
    public void close() throws IOException {
        if (!connection.completeExceptionally(new IOException("attachment closed"))
                && !connection.isCompletedExceptionally()) {
            connection.join().close();
        }
    }
}
