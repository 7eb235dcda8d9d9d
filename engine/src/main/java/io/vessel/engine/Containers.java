package io.vessel.engine;

import io.vessel.engine.container.BundleMaker;
import io.vessel.engine.container.RunOptions;
import io.vessel.image.Digest;
import io.vessel.image.registry.ProgressListener;
import io.vessel.image.store.ImageStore.Image;
import io.vessel.image.store.Snapshot;
import io.vessel.json.Json;
import io.vessel.json.JsonNode;
import io.vessel.linux.FileTrees;
import io.vessel.linux.Mount;
import io.vessel.runtime.container.Container;
import io.vessel.runtime.container.RuntimeError;
import io.vessel.runtime.container.Status;
import io.vessel.runtime.container.TerminalRelay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Containers made from images: each has a directory {@code <root>/containers/<id>} holding its
 * record ({@code container.json}), its writable layer ({@code upper}, {@code work}), the overlay
 * mount point {@code rootfs} and the bundle's {@code config.json}; the runtime's live state is under
 * {@code <run>/runtime}. Until the daemon exists, a container in the foreground is watched by the
 * {@code vessel run} that started it, which records its exit status.
 */
public final class Containers {
    /** What {@code run} is asked to do. */
    public record RunRequest(String image, String name, RunOptions options, boolean remove, boolean detach) {
    }

    /** A container's record, as {@code ps} and {@code inspect} show it. */
    public record Info(String id, String name, Digest image, String imageName, List<String> command, Instant created,
                       String status, Integer exitCode, Digest topChain, List<String> volumes) {
    }

    private static final String RECORD = "container.json";
    private final Engine engine;

    Containers(Engine engine) {
        this.engine = engine;
    }

    /**
     * Runs a container: finds (or pulls) the image, mounts its layers with a new writable layer,
     * makes the bundle and starts it with the runtime. In the foreground it waits and returns the
     * container's exit status (with {@code remove}, the container is then removed); detached it
     * returns 0 once the container runs.
     */
    public int run(RunRequest r, ProgressListener pull, java.util.function.Consumer<String> started) throws IOException {
        Image image = engine.images().find(r.image(), true, pull);
        String id = newId();
        String name = r.name() == null || r.name().isEmpty() ? "vessel_" + id.substring(0, 8) : checkName(r.name());
        Path dir = engine.config().containersDir().resolve(id);
        Snapshot snapshot;
        Path rootfs = dir.resolve("rootfs");
        BundleMaker.Made made;
        synchronized (Containers.class) {
            if (find(name) != null) {
                throw new IllegalArgumentException("Conflict. The container name \"/" + name
                        + "\" is already in use. Remove it or choose another name.");
            }
            Files.createDirectories(rootfs);
            writeRecord(dir, new Info(id, name, image.id(), r.image(), command(image, r.options()), Instant.now(),
                    "created", null, image.topChainId(), List.of()));
        }
        try {
            snapshot = Snapshot.prepare(dir, lowers(image, dir));
            snapshot.mount(rootfs, false);
            made = new BundleMaker(engine.volumes()).make(id, dir, image.config(), r.options());
            Info info = readRecord(dir);
            writeRecord(dir, with(info, "created", null, made.volumes()));
        } catch (IOException | RuntimeException e) {
            removeQuietly(id, dir);
            throw e;
        }
        Container.Created created;
        try {
            boolean fg = !r.detach();
            created = Container.create(engine.config().runtimeRoot(), id, made.bundle(),
                    new Container.CreateOptions(null, null, false, 0, 0, 1, 2, fg, false, fg));
        } catch (RuntimeError e) {
            removeQuietly(id, dir);
            throw new IOException(e.getMessage(), e);
        }
        Container c = created.container();
        TerminalRelay terminal = created.terminal();
        try {
            c.start();
            if (terminal != null) {
                terminal.start();
            }
            writeRecord(dir, with(readRecord(dir), "running", null, null));
            if (started != null) {
                started.accept(id);
            }
            if (r.detach()) {
                return 0;
            }
            int status = Container.waitForLauncher(created.launcher(), c.state().pid(), c.state().pidStartTime());
            if (terminal != null) {
                terminal.close();
                terminal = null;
            }
            c.delete(true);
            writeRecord(dir, with(readRecord(dir), "exited", status, null));
            Mount.detachAll(dir.resolve("rootfs").toString());
            if (r.remove()) {
                remove(id, true, true);
            }
            return status;
        } catch (RuntimeError e) {
            try {
                c.delete(true);
            } catch (RuntimeError ignored) {
                // already gone
            }
            removeQuietly(id, dir);
            throw new IOException(e.getMessage(), e);
        } finally {
            if (terminal != null) {
                terminal.close();
            }
        }
    }

    private List<Path> lowers(Image image, Path dir) throws IOException {
        if (image.topChainId() == null) {
            Path empty = dir.resolve("empty");
            Files.createDirectories(empty);
            return List.of(empty);
        }
        engine.images().store().unpack(image);
        return engine.images().store().layerStore().lowerDirs(image.topChainId());
    }

    private static List<String> command(Image image, RunOptions o) {
        List<String> cmd = new ArrayList<>(o.entrypoint() != null ? o.entrypoint() : image.config().config().entrypoint());
        cmd.addAll(o.cmd().isEmpty() ? image.config().config().cmd() : o.cmd());
        return cmd;
    }

    /** Every container, newest first, with its status read from the runtime where it is alive. */
    public List<Info> list() throws IOException {
        List<Info> out = new ArrayList<>();
        for (Info i : records()) {
            out.add(live(i));
        }
        return out;
    }

    /** The containers' records as stored, newest first: who they are, not how they are. */
    private List<Info> records() throws IOException {
        List<Info> out = new ArrayList<>();
        Path d = engine.config().containersDir();
        if (!Files.isDirectory(d)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
            for (Path p : s) {
                if (Files.isRegularFile(p.resolve(RECORD))) {
                    out.add(readRecord(p));
                }
            }
        }
        out.sort(Comparator.comparing(Info::created).reversed());
        return out;
    }

    /** The record with the status the runtime sees now (a detached container may have exited). */
    private Info live(Info i) {
        if (!i.status().equals("running") && !i.status().equals("created") && !i.status().equals("paused")) {
            return i;
        }
        try {
            Status s = Container.load(engine.config().runtimeRoot(), i.id()).status();
            return with(i, s == Status.STOPPED ? "exited" : s.wireName(), i.exitCode(), null);
        } catch (RuntimeError gone) {
            return with(i, "exited", i.exitCode(), null);
        }
    }

    /** By full ID, unique ID prefix or name; null if none. */
    public Info find(String what) throws IOException {
        Info byPrefix = null;
        for (Info i : records()) {
            if (i.id().equals(what) || i.name().equals(what)) {
                return i;
            }
            if (what.length() >= 3 && i.id().startsWith(what)) {
                if (byPrefix != null) {
                    throw new IllegalArgumentException("multiple containers match \"" + what + "\"");
                }
                byPrefix = i;
            }
        }
        return byPrefix;
    }

    /**
     * docker rm: a running container needs {@code force} (it is killed); {@code volumes} also removes its
     * anonymous volumes. Named volumes and their data stay.
     */
    public void remove(String what, boolean force, boolean volumes) throws IOException {
        Info i = find(what);
        if (i == null) {
            throw new NoSuchFileException("No such container: " + what);
        }
        Path dir = engine.config().containersDir().resolve(i.id());
        try {
            Container c = Container.load(engine.config().runtimeRoot(), i.id());
            if (c.status() != Status.STOPPED && !force) {
                throw new IllegalArgumentException("cannot remove container \"" + i.name()
                        + "\": container is " + c.status().wireName() + ": stop it before removing or force remove");
            }
            c.delete(true);
        } catch (RuntimeError gone) {
            // no runtime state: it has exited and was deleted from the runtime already
        }
        engine.volumes().releaseAll(i.id(), volumes);
        Mount.detachAll(dir.resolve("rootfs").toString());
        FileTrees.remove(dir);
    }

    /** The images containers are made from: rmi refuses them without force. */
    public Set<Digest> imagesInUse() throws IOException {
        Set<Digest> s = new HashSet<>();
        for (Info i : records()) {
            s.add(i.image());
        }
        return s;
    }

    /** The layer stacks containers stand on: garbage collection keeps them. */
    public Set<Digest> chainsInUse() throws IOException {
        Set<Digest> s = new HashSet<>();
        for (Info i : records()) {
            if (i.topChain() != null) {
                s.add(i.topChain());
            }
        }
        return s;
    }

    private void removeQuietly(String id, Path dir) {
        try {
            engine.volumes().releaseAll(id, true);
        } catch (IOException | RuntimeException ignored) {
            // best effort: the original failure is what the user needs to see
        }
        try {
            Mount.detachAll(dir.resolve("rootfs").toString());
            FileTrees.remove(dir);
        } catch (IOException | RuntimeException ignored) {
            // idem
        }
    }

    private static String newId() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Docker's container names: {@code [a-zA-Z0-9][a-zA-Z0-9_.-]+}. */
    static String checkName(String name) {
        String n = name.startsWith("/") ? name.substring(1) : name;
        if (!n.matches("[a-zA-Z0-9][a-zA-Z0-9_.-]+")) {
            throw new IllegalArgumentException("Invalid container name (" + name
                    + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }
        return n;
    }

    private static Info with(Info i, String status, Integer exit, List<String> volumes) {
        return new Info(i.id(), i.name(), i.image(), i.imageName(), i.command(), i.created(), status,
                exit, i.topChain(), volumes != null ? volumes : i.volumes());
    }

    private static void writeRecord(Path dir, Info i) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Id", i.id());
        m.put("Name", i.name());
        m.put("Image", i.image().toString());
        m.put("ImageName", i.imageName());
        m.put("Command", i.command());
        m.put("Created", i.created().toString());
        m.put("Status", i.status());
        if (i.exitCode() != null) {
            m.put("ExitCode", i.exitCode());
        }
        if (i.topChain() != null) {
            m.put("TopChain", i.topChain().toString());
        }
        m.put("Volumes", i.volumes());
        Path tmp = dir.resolve("." + RECORD + ".tmp");
        Files.writeString(tmp, Json.writePretty(m), StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(RECORD), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static Info readRecord(Path dir) throws IOException {
        JsonNode n = JsonNode.parse(dir.resolve(RECORD).toString(), Files.readString(dir.resolve(RECORD)));
        return new Info(n.get("Id").string(), n.get("Name").string(), Digest.parse(n.get("Image").string()),
                n.get("ImageName").string(), n.get("Command").stringList(), Instant.parse(n.get("Created").string()),
                n.get("Status").string(), n.get("ExitCode").present() ? n.get("ExitCode").intValue() : null,
                n.get("TopChain").present() ? Digest.parse(n.get("TopChain").string()) : null,
                n.get("Volumes").present() ? n.get("Volumes").stringList() : List.of());
    }
}
