package io.vessel.cli.client;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A connection taken over by attach or exec start: the container's output comes in (multiplexed
 * frames without a tty, see {@link Frames}; raw bytes with one), its input goes out;
 * {@link #closeInput} half-closes so the container sees end of file on its stdin.
 */
public final class Hijacked implements Closeable {
    private final Connection connection;
    private final InputStream in;
    private final OutputStream out;

    Hijacked(Connection connection, InputStream in, OutputStream out) {
        this.connection = connection;
        this.in = in;
        this.out = out;
    }

    /** The container's output. */
    public InputStream output() {
        return in;
    }

    /** The container's input. */
    public OutputStream input() {
        return out;
    }

    /** Ends the container's input (a half-close: its output keeps coming). */
    public void closeInput() throws IOException {
        out.flush();
        connection.shutdownOutput();
    }

    @Override
    public void close() throws IOException {
        connection.close();
    }
}
