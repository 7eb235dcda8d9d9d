package io.vessel.linux;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A listening Unix stream socket that appears at its path only once it listens. A plain bind makes the
 * file before listen(2) runs, so a client that waits for the file (as scripts and tests do) can be
 * refused in between; here the socket is bound under a temporary name in the same directory, given
 * its mode, and then linked or renamed to its path.
 */
public final class UnixListener {
    private UnixListener() {
    }

    /**
     * Listens at {@code socket} with the permissions {@code mode}. With {@code replace}, an existing
     * file there is replaced atomically; without, an existing file makes it fail with
     * {@link FileAlreadyExistsException} and stays as it was.
     */
    public static ServerSocketChannel listen(Path socket, Set<PosixFilePermission> mode, boolean replace)
            throws IOException {
        Path tmp = socket.resolveSibling(".s" + Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36));
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(tmp));
            Files.setPosixFilePermissions(tmp, mode);
            if (replace) {
                Files.move(tmp, socket, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.createLink(socket, tmp); // fails if the path exists, atomically
                Files.delete(tmp);
            }
            return server;
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
    }
}
