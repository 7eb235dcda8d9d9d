package io.vessel.cli.client;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * One connection to the daemon's Unix socket: its two byte streams, a half-close, and close, which
 * also wakes a thread blocked reading it. Made by {@link NativeConnection} where its small JNI
 * library is installed beside the launcher (the CLI's start-up is shorter by a third), else by
 * {@link ChannelConnection} over the JDK's SocketChannel.
 */
interface Connection extends Closeable {
    InputStream input();

    OutputStream output();

    /** Ends what the daemon reads (a half-close); what it writes keeps coming. */
    void shutdownOutput() throws IOException;

    static Connection open(Path socket) throws IOException {
        return NativeConnection.available() ? NativeConnection.open(socket) : ChannelConnection.open(socket);
    }
}
