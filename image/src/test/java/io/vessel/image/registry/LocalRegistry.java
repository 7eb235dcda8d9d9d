package io.vessel.image.registry;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The real distribution registry (Debian's {@code docker-registry}, 2.8) for tests: filesystem
 * storage in a fresh temp directory, listening on 127.0.0.1 at a free port, with an optional
 * {@code auth:} section. {@link #close} kills it and removes the directory.
 */
final class LocalRegistry implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/docker-registry");

    private final Path dir;
    private final int port;
    private final Process process;

    private LocalRegistry(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    static boolean available() {
        return Files.isExecutable(BINARY);
    }

    /** Starts a registry; {@code auth} is YAML for the config's {@code auth:} key (indented 2), or "". */
    static LocalRegistry start(String auth) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("vessel-registry-");
        Process p = null;
        try {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Files.createDirectories(dir.resolve("storage"));
            String yaml = "version: 0.1\n"
                    + "log:\n  level: info\n  formatter: text\n"
                    + "storage:\n  filesystem:\n    rootdirectory: " + dir.resolve("storage") + "\n"
                    + "  delete:\n    enabled: true\n"
                    + "http:\n  addr: 127.0.0.1:" + port + "\n  secret: vessel-test-secret\n"
                    + (auth.isEmpty() ? "" : "auth:\n" + auth);
            Files.writeString(dir.resolve("config.yml"), yaml);
            p = new ProcessBuilder(BINARY.toString(), "serve", dir.resolve("config.yml").toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("registry.log").toFile())
                    .start();
            LocalRegistry r = new LocalRegistry(dir, port, p);
            r.awaitReady();
            return r;
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (p != null) {
                p.destroyForcibly().waitFor();
            }
            deleteTree(dir);
            throw e;
        }
    }

    private void awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("docker-registry exited with " + process.exitValue() + ": " + log());
            }
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create("http://" + host() + "/v2/").toURL().openConnection();
                c.setConnectTimeout(500);
                int status = c.getResponseCode();
                c.disconnect();
                if (status == 200 || status == 401) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new IOException("docker-registry did not answer /v2/ within 20s: " + log());
    }

    /** {@code 127.0.0.1:<port>}, the registry part of references. */
    String host() {
        return "127.0.0.1:" + port;
    }

    /** The storage root: {@code docker/registry/v2/...}. */
    Path storage() {
        return dir.resolve("storage");
    }

    /** The data file of a blob in the registry's storage. */
    Path blobData(io.vessel.image.Digest d) {
        return storage().resolve("docker/registry/v2/blobs/" + d.algorithm() + "/" + d.hex().substring(0, 2) + "/"
                + d.hex() + "/data");
    }

    Path dir() {
        return dir;
    }

    String log() throws IOException {
        Path log = dir.resolve("registry.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** Access-log lines of requests: {@code "METHOD /v2/<pathPrefix>... HTTP/1.1" STATUS}. */
    long requests(String method, String pathContains, int status) throws IOException {
        return log().lines()
                .filter(l -> l.contains("\"" + method + " /v2/") && l.contains(pathContains)
                        && l.contains(" HTTP/1.1\" " + status + " "))
                .count();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        deleteTree(dir);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
