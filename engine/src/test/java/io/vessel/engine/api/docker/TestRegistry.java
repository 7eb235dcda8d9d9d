package io.vessel.engine.api.docker;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Debian's docker-registry (the distribution registry) on 127.0.0.1 at a free port with storage in
 * a directory of the caller's, as the image module's tests run it; {@link #close} stops it.
 */
final class TestRegistry implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/docker-registry");

    private final Process process;
    private final int port;

    private TestRegistry(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static TestRegistry start(Path dir) throws IOException, InterruptedException {
        return start(dir, "");
    }

    /** With {@code auth}: YAML for the config's {@code auth:} key, indented two spaces. */
    static TestRegistry start(Path dir, String auth) throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.yml"), """
                version: 0.1
                log: {level: error}
                storage: {filesystem: {rootdirectory: %s/data}}
                http: {addr: 127.0.0.1:%d}
                """.formatted(dir, port) + (auth.isEmpty() ? "" : "auth:\n" + auth));
        Process p = new ProcessBuilder(BINARY.toString(), "serve", dir.resolve("config.yml").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
        TestRegistry r = new TestRegistry(p, port);
        for (int i = 0; i < 200; i++) {
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                return r;
            } catch (IOException notYet) {
                if (!p.isAlive()) {
                    break;
                }
                Thread.sleep(50);
            }
        }
        r.close();
        throw new IOException("docker-registry did not listen on 127.0.0.1:" + port + ": " + Files.readString(dir.resolve("log")));
    }

    String host() {
        return "127.0.0.1:" + port;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
