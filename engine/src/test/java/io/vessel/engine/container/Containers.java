package io.vessel.engine.container;

import io.vessel.engine.volume.VolumeStore;
import io.vessel.image.oci.ImageConfig;
import io.vessel.linux.Fd;
import io.vessel.runtime.container.Container;
import io.vessel.runtime.container.RuntimeError;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs real containers the way {@code vessel run} will: a busybox-static root file system in
 * {@code <dir>/containers/<id>/rootfs}, the bundle made by {@link BundleMaker}, and Vessel's
 * runtime in this JVM (create, start, wait, delete), then the container's volumes released.
 */
final class Containers {
    private static Path template;

    final Path dir;
    final Path runtimeRoot;
    final VolumeStore volumes;
    final BundleMaker maker;

    Containers(Path dir) throws IOException {
        this.dir = dir;
        this.runtimeRoot = dir.resolve("runtime");
        this.volumes = VolumeStore.open(dir.resolve("store"));
        this.maker = new BundleMaker(volumes);
    }

    /** Skips unless the test runs as root and the launcher exists (the runtime needs both). */
    static void assumeCanRun() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "running containers needs root (namespaces, cgroups, mounts); running as " + System.getProperty("user.name"));
        if (System.getProperty("vessel.launcher") == null) {
            Path built = repo().resolve("build/vessel-launch");
            Assumptions.assumeTrue(Files.isExecutable(built),
                    "no vessel-launch: run 'make build' and pass -Dvessel.launcher (see the Makefile's test target)");
            System.setProperty("vessel.launcher", built.toString());
        }
    }

    static Path repo() {
        String p = System.getProperty("vessel.root");
        Path d = p != null ? Path.of(p) : Path.of("").toAbsolutePath();
        while (d != null && !Files.exists(d.resolve("scripts/make-rootfs.sh"))) {
            d = d.getParent();
        }
        if (d == null) {
            throw new IllegalStateException("cannot find the repository root from " + Path.of("").toAbsolutePath());
        }
        return d;
    }

    static String newId(String prefix) {
        byte[] b = new byte[4];
        ThreadLocalRandom.current().nextBytes(b);
        return prefix + "-" + HexFormat.of().formatHex(b);
    }

    /** A fresh root file system for container {@code id}: a copy of the busybox template. */
    Path rootfs(String id) throws IOException, InterruptedException {
        synchronized (Containers.class) {
            if (template == null) {
                Path t = Files.createTempDirectory("vessel-engine-rootfs");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        new ProcessBuilder("rm", "-rf", t.toString()).start().waitFor();
                    } catch (IOException | InterruptedException ignored) {
                        // left in /tmp
                    }
                }));
                sh(repo().resolve("scripts/make-rootfs.sh").toString(), t.resolve("rootfs").toString());
                template = t.resolve("rootfs");
            }
        }
        Path containerDir = Files.createDirectories(dir.resolve("containers").resolve(id));
        Path rootfs = containerDir.resolve("rootfs");
        if (!Files.exists(rootfs)) {
            sh("cp", "-a", template.toString(), rootfs.toString());
        }
        return rootfs;
    }

    /** What a container printed and how it ended (the shell's convention: 128+N for signal N). */
    record Result(int status, String out, String err, BundleMaker.Made made) {
    }

    /** Makes the bundle, runs the container to its end, deletes it and releases its volumes. */
    Result run(String id, ImageConfig image, RunOptions o) throws Exception {
        rootfs(id);
        Path containerDir = dir.resolve("containers").resolve(id);
        BundleMaker.Made made = maker.make(id, containerDir, image, o);
        Path out = containerDir.resolve("stdout");
        Path err = containerDir.resolve("stderr");
        int status;
        try (Fd in = io.vessel.linux.Files.open("/dev/null", io.vessel.linux.Files.O_RDONLY | io.vessel.linux.Files.O_CLOEXEC, 0);
             Fd o1 = io.vessel.linux.Files.open(out.toString(), io.vessel.linux.Files.O_WRONLY | io.vessel.linux.Files.O_CREAT
                     | io.vessel.linux.Files.O_TRUNC | io.vessel.linux.Files.O_CLOEXEC, 0644);
             Fd o2 = io.vessel.linux.Files.open(err.toString(), io.vessel.linux.Files.O_WRONLY | io.vessel.linux.Files.O_CREAT
                     | io.vessel.linux.Files.O_TRUNC | io.vessel.linux.Files.O_CLOEXEC, 0644)) {
            Container.Created created = Container.create(runtimeRoot, id, containerDir,
                    new Container.CreateOptions(null, null, false, 0, in.num(), o1.num(), o2.num(), true, false, false));
            Container c = created.container();
            try {
                c.start();
                status = Container.waitForLauncher(created.launcher(), c.state().pid(), c.state().pidStartTime());
            } finally {
                c.delete(true);
            }
        } finally {
            volumes.releaseAll(id);
        }
        return new Result(status, Files.readString(out), Files.readString(err), made);
    }

    /** Starts a container and returns it running, for tests that look at it from outside. */
    Container.Created start(String id, ImageConfig image, RunOptions o) throws Exception {
        rootfs(id);
        Path containerDir = dir.resolve("containers").resolve(id);
        maker.make(id, containerDir, image, o);
        try (Fd in = io.vessel.linux.Files.open("/dev/null", io.vessel.linux.Files.O_RDWR | io.vessel.linux.Files.O_CLOEXEC, 0)) {
            Container.Created created = Container.create(runtimeRoot, id, containerDir,
                    new Container.CreateOptions(null, null, false, 0, in.num(), in.num(), in.num(), true, false, false));
            created.container().start();
            return created;
        }
    }

    /** Kills a container started by {@link #start}, waits for it, deletes it, releases its volumes. */
    void stop(String id, Container.Created created) throws RuntimeError, IOException {
        Container c = created.container();
        try {
            c.kill(9, false);
            Container.waitForLauncher(created.launcher(), c.state().pid(), c.state().pidStartTime());
        } finally {
            c.delete(true);
            volumes.releaseAll(id);
        }
    }

    static ImageConfig image(List<String> env, List<String> cmd, Set<String> volumes, String workdir, String user) {
        return new ImageConfig(null, null, "amd64", "linux", null,
                new ImageConfig.Config(user, env, List.of(), cmd, workdir, Set.of(), volumes, Map.of(), null,
                        List.of(), null, List.of()),
                new ImageConfig.RootFs("layers", List.of()), List.of());
    }

    static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
