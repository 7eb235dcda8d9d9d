package io.vessel.engine.network;

import io.vessel.json.Json;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code networks.json}: every network with its endpoints and allocator cursor, read and replaced
 * whole (temp file, fsync, rename, directory fsync) under a lock — a {@code flock} on
 * {@code .lock} between processes and a lock per directory within the JVM — so that two
 * allocations never hand out one address and a crash leaves the old file or the new one.
 */
final class NetworkStore {
    private static final String FILE = "networks.json";
    private static final Map<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path dir;
    private final ReentrantLock jvmLock;

    NetworkStore(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
        this.jvmLock = JVM_LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
    }

    interface Work<T> {
        T run() throws IOException;
    }

    /** Runs {@code work} holding both locks (re-entrant within one thread). */
    <T> T locked(Work<T> work) throws IOException {
        jvmLock.lock();
        try {
            if (jvmLock.getHoldCount() > 1) {
                return work.run();
            }
            try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
                return work.run();
            }
        } finally {
            jvmLock.unlock();
        }
    }

    List<Network> load() throws IOException {
        Path f = dir.resolve(FILE);
        String text;
        try {
            text = Files.readString(f);
        } catch (NoSuchFileException e) {
            return new ArrayList<>();
        }
        try {
            JsonNode root = JsonNode.parse(f.toString(), text);
            return new ArrayList<>(root.get("Networks").list(NetworkStore::readNetwork));
        } catch (IllegalArgumentException e) { // JsonException is one
            throw new IOException(f + " is damaged: " + e.getMessage()
                    + " (move it away to start with the predefined networks only)", e);
        }
    }

    void save(List<Network> networks) throws IOException {
        List<Object> list = new ArrayList<>();
        for (Network n : networks) {
            list.add(write(n));
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("Networks", list);
        byte[] bytes = Json.writePretty(root).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static Map<String, Object> write(Network n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Id", n.id());
        m.put("Name", n.name());
        m.put("Driver", n.driver());
        m.put("Bridge", n.bridge());
        m.put("Subnet", n.subnet() == null ? null : n.subnet().toString());
        m.put("Gateway", n.gateway() == 0 ? null : Subnet.format(n.gateway()));
        m.put("Internal", n.internal());
        m.put("Labels", n.labels());
        m.put("Created", n.created().toString());
        m.put("NextHost", (long) n.nextHost());
        List<Object> eps = new ArrayList<>();
        for (Endpoint e : n.endpoints()) {
            Map<String, Object> em = new LinkedHashMap<>();
            em.put("ContainerId", e.containerId());
            em.put("ContainerName", e.containerName());
            em.put("Hostname", e.hostname());
            em.put("Aliases", e.aliases());
            em.put("IP", Subnet.format(e.ip()));
            em.put("Mac", e.mac());
            em.put("Iface", e.iface());
            em.put("HostVeth", e.hostVeth());
            List<Object> ports = new ArrayList<>();
            for (PortMapping p : e.ports()) {
                Map<String, Object> pm = new LinkedHashMap<>();
                pm.put("HostIp", p.hostIp());
                pm.put("HostPort", (long) p.hostPort());
                pm.put("ContainerPort", (long) p.containerPort());
                pm.put("Protocol", p.protocol());
                ports.add(pm);
            }
            em.put("Ports", ports);
            eps.add(em);
        }
        m.put("Endpoints", eps);
        return m;
    }

    private static Network readNetwork(JsonNode n) {
        Subnet subnet = n.get("Subnet").present() ? Subnet.parse(n.get("Subnet").string(), n.get("Subnet").path()) : null;
        int gateway = n.get("Gateway").present() ? Subnet.parseAddress(n.get("Gateway").string(), n.get("Gateway").path())
                : 0;
        return new Network(n.get("Id").string(), n.get("Name").string(), n.get("Driver").string(),
                n.get("Bridge").present() ? n.get("Bridge").string() : null, subnet, gateway,
                n.get("Internal").bool(false), n.get("Labels").stringMap(), Instant.parse(n.get("Created").string()),
                n.get("Endpoints").list(NetworkStore::readEndpoint), n.get("NextHost").intValue(1));
    }

    private static Endpoint readEndpoint(JsonNode e) {
        return new Endpoint(e.get("ContainerId").string(), e.get("ContainerName").string(""),
                e.get("Hostname").string(""), e.get("Aliases").stringList(),
                Subnet.parseAddress(e.get("IP").string(), e.get("IP").path()), e.get("Mac").string(),
                e.get("Iface").string(), e.get("HostVeth").string(),
                e.get("Ports").list(p -> new PortMapping(p.get("HostIp").string(), p.get("HostPort").intValue(),
                        p.get("ContainerPort").intValue(), p.get("Protocol").string())));
    }
}
