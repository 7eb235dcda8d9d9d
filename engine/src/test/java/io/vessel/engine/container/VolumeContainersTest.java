package io.vessel.engine.container;

import io.vessel.engine.volume.Volume;
import io.vessel.engine.volume.VolumeException;
import io.vessel.engine.volume.VolumeStore;
import io.vessel.image.oci.ImageConfig;
import io.vessel.runtime.container.Container;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real containers through Vessel's runtime, with volumes, binds and tmpfs made by {@link BundleMaker}. */
class VolumeContainersTest {
    @TempDir
    Path dir;
    Containers cs;
    Set<String> mountsBefore;

    @BeforeEach
    void setUp() throws Exception {
        Containers.assumeCanRun();
        cs = new Containers(dir);
        mountsBefore = new HashSet<>(Files.readAllLines(Path.of("/proc/self/mountinfo")));
    }

    @AfterEach
    void noLeftovers() throws Exception {
        if (cs == null) {
            return;
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            assertFalse(!mountsBefore.contains(line) && line.contains(dir.toString()), "mount left behind: " + line);
        }
        if (Files.exists(cs.runtimeRoot)) {
            try (var ds = Files.list(cs.runtimeRoot)) {
                assertEquals(List.of(), ds.filter(Files::isDirectory).toList(), "runtime state left behind");
            }
        }
        try (var ds = Files.list(cs.volumes.directory().resolve(".tmp"))) {
            assertEquals(0, ds.count(), "volume store temp files left behind");
        }
        for (Volume v : cs.volumes.list(VolumeStore.Filter.ALL)) {
            assertEquals(List.of(), v.users(), "volume " + v.name() + " still held");
        }
    }

    private static RunOptions.Builder sh(String script) {
        return RunOptions.builder().cmd("sh", "-c", script);
    }

    @Test
    void aNamedVolumeOutlivesItsContainer() throws Exception {
        String vol = Containers.newId("data");
        var r1 = cs.run(Containers.newId("writer"), null, sh("echo hello > /data/f && echo wrote").volume(vol + ":/data").build());
        assertEquals(0, r1.status(), r1.err());
        assertEquals("wrote\n", r1.out());
        Volume v = cs.volumes.inspect(vol);
        assertEquals(List.of(), v.users(), "the deleted container released it");
        assertEquals("hello\n", Files.readString(v.mountpoint().resolve("f")));
        var r2 = cs.run(Containers.newId("reader"), null, sh("cat /data/f").volume(vol + ":/data").build());
        assertEquals(0, r2.status(), r2.err());
        assertEquals("hello\n", r2.out());
    }

    @Test
    void readOnlyMountsRefuseWrites() throws Exception {
        String vol = Containers.newId("ro");
        Path host = Files.createDirectories(dir.resolve("host-ro"));
        var r = cs.run(Containers.newId("ro"), null, sh("echo x > /data/f; echo x > /host/f; cat /proc/self/mounts")
                .volume(vol + ":/data:ro").volume(host + ":/host:ro").build());
        assertTrue(r.err().contains("/data/f: Read-only file system"), r.err());
        assertTrue(r.err().contains("/host/f: Read-only file system"), r.err());
        assertFalse(Files.exists(cs.volumes.inspect(vol).mountpoint().resolve("f")));
        assertFalse(Files.exists(host.resolve("f")));
    }

    @Test
    void aBindMountWorksBothWays() throws Exception {
        Path host = Files.createDirectories(dir.resolve("host"));
        Files.writeString(host.resolve("in"), "from the host\n");
        Path missing = dir.resolve("made-by-v");
        var r = cs.run(Containers.newId("bind"), null, sh("cat /h/in; echo from the container > /h/out; touch /m/x")
                .volume(host + ":/h").volume(missing + ":/m").build());
        assertEquals(0, r.status(), r.err());
        assertEquals("from the host\n", r.out());
        assertEquals("from the container\n", Files.readString(host.resolve("out")));
        assertTrue(Files.exists(missing.resolve("x")), "-v made the missing source directory");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cs.run(Containers.newId("bind"),
                null, sh("true").mountFlag("type=bind,source=" + dir.resolve("absent") + ",target=/x").build()));
        assertEquals("invalid mount config for type \"bind\": bind source path does not exist: " + dir.resolve("absent"),
                e.getMessage());
    }

    @Test
    void anImageVolumeGetsAnAnonymousVolumeSeededFromTheImage() throws Exception {
        String id = Containers.newId("seed");
        Path rootfs = cs.rootfs(id);
        Path seed = rootfs.resolve("var/seed");
        Files.createDirectories(seed.resolve("sub"));
        Files.writeString(seed.resolve("a"), "image content\n");
        Files.writeString(seed.resolve("sub/b"), "deeper\n");
        Files.createSymbolicLink(seed.resolve("link"), Path.of("a"));
        io.vessel.linux.Files.lchown(seed.resolve("a").toString(), 1000, 1001);
        Files.setPosixFilePermissions(seed.resolve("a"), PosixFilePermissions.fromString("rw-r-----"));
        io.vessel.linux.Files.lsetxattr(seed.resolve("a").toString(), "user.origin", "image".getBytes(), 0);
        io.vessel.linux.Files.lchown(seed.toString(), 1000, 1000);
        Files.setPosixFilePermissions(seed, PosixFilePermissions.fromString("rwxr-x---"));
        ImageConfig image = Containers.image(List.of(), List.of("sh", "-c", "cat /var/seed/a /var/seed/link; echo new > /var/seed/new"),
                Set.of("/var/seed"), null, null);

        var r = cs.run(id, image, RunOptions.builder().build());
        assertEquals(0, r.status(), r.err());
        assertEquals("image content\nimage content\n", r.out());
        List<String> made = r.made().volumes();
        assertEquals(1, made.size());
        Volume v = cs.volumes.inspect(made.getFirst());
        assertTrue(v.anonymous());
        Path data = v.mountpoint();
        assertEquals("deeper\n", Files.readString(data.resolve("sub/b")));
        assertEquals("new\n", Files.readString(data.resolve("new")));
        assertEquals(Path.of("a"), Files.readSymbolicLink(data.resolve("link")));
        assertEquals(1000, Files.getAttribute(data.resolve("a"), "unix:uid"));
        assertEquals(1001, Files.getAttribute(data.resolve("a"), "unix:gid"));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("a"))));
        assertEquals("image", new String(io.vessel.linux.Files.lgetxattr(data.resolve("a").toString(), "user.origin")));
        assertEquals(1000, Files.getAttribute(data, "unix:uid"), "the volume's root takes the image directory's owner");
        assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(data)));
        assertFalse(Files.exists(seed.resolve("new")), "writes went to the volume, not the image");

        // prune takes the now unused anonymous volume
        VolumeStore.PruneReport pr = cs.volumes.prune(false, VolumeStore.Filter.ALL);
        assertEquals(List.of(v.name()), pr.removed());
        assertTrue(pr.spaceReclaimed() >= "image content\ndeeper\nnew\n".length(), "reclaimed " + pr.spaceReclaimed());
    }

    @Test
    void nocopyAndNonEmptyVolumesAreNotSeeded() throws Exception {
        String id = Containers.newId("nocopy");
        Path rootfs = cs.rootfs(id);
        Files.createDirectories(rootfs.resolve("srv"));
        Files.writeString(rootfs.resolve("srv/image-file"), "x");
        String empty = Containers.newId("empty");
        String full = Containers.newId("full");
        Files.writeString(cs.volumes.create(full, Map.of(), Map.of()).mountpoint().resolve("mine"), "y");
        var r2 = cs.run(id, null, sh("ls /srv").volume(empty + ":/srv:nocopy").build());
        assertEquals("", r2.out(), "nocopy: the volume stays empty");
        String id3 = Containers.newId("full");
        Files.createDirectories(cs.rootfs(id3).resolve("srv"));
        Files.writeString(cs.rootfs(id3).resolve("srv/image-file"), "x");
        var r3 = cs.run(id3, null, sh("ls /srv").mountFlag("source=" + full + ",target=/srv").build());
        assertEquals("mine\n", r3.out(), "a volume with data is not seeded");
    }

    @Test
    void aReadOnlyRootWithATmpfs() throws Exception {
        var r = cs.run(Containers.newId("rofs"), null, sh("touch /x; touch /tmp/y && echo tmp ok; grep ' /tmp ' /proc/mounts")
                .readOnly(true).tmpfs("/tmp:size=1m").build());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("touch: /x: Read-only file system"), r.err());
        assertTrue(r.out().startsWith("tmp ok\ntmpfs /tmp tmpfs rw,nosuid,nodev,noexec"), r.out());
        assertTrue(r.out().contains("size=1024k"), r.out());
    }

    @Test
    void removeIsRefusedWhileARunningContainerUsesTheVolume() throws Exception {
        String vol = Containers.newId("busy");
        String id = Containers.newId("busy");
        Container.Created c = cs.start(id, null, sh("sleep 30").volume(vol + ":/data").build());
        try {
            assertEquals(List.of(id), cs.volumes.inspect(vol).users());
            VolumeException e = assertThrows(VolumeException.class, () -> cs.volumes.remove(vol, false));
            assertEquals("volume " + vol + " is in use by container(s) " + id, e.getMessage());
            assertEquals(List.of(), cs.volumes.prune(true, VolumeStore.Filter.ALL).removed(), "prune keeps used volumes");
        } finally {
            cs.stop(id, c);
        }
        cs.volumes.remove(vol, false);
        assertThrows(VolumeException.class, () -> cs.volumes.inspect(vol));
    }

    @Test
    void userWorkdirAndEnvironmentAsDocker() throws Exception {
        ImageConfig image = Containers.image(List.of("FOO=image", "KEEP=1"), List.of("sh", "-c",
                "id; pwd; echo HOME=$HOME FOO=$FOO KEEP=$KEEP HOSTNAME=$HOSTNAME; hostname; cat /etc/hostname; grep Cap[EP] /proc/self/status"),
                Set.of(), "/work/dir", "nobody");
        String id = Containers.newId("user");
        var r = cs.run(id, image, RunOptions.builder().env("FOO=run").hostname("box").build());
        assertEquals(0, r.status(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("uid=65534(nobody) gid=65534(nogroup)", lines.get(0), "no supplementary groups: nobody is in none");
        assertEquals("/work/dir", lines.get(1));
        assertEquals("HOME=/ FOO=run KEEP=1 HOSTNAME=box", lines.get(2));
        assertEquals("box", lines.get(3));
        assertEquals("box", lines.get(4));
        assertEquals("CapPrm:\t0000000000000000", lines.get(5), "a non-root user has no permitted capabilities");
        assertEquals("CapEff:\t0000000000000000", lines.get(6));
        Path wd = cs.dir.resolve("containers").resolve(id).resolve("rootfs/work/dir");
        assertEquals(0, Files.getAttribute(wd, "unix:uid", LinkOption.NOFOLLOW_LINKS), "Docker makes WORKDIR as root");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cs.run(Containers.newId("nouser"), null, sh("true").user("ghost").build()));
        assertEquals("unable to find user ghost: no matching entries in passwd file", e.getMessage());
    }

    @Test
    void networkNoneHasOnlyLoopbackAndEtcFilesAreMounted() throws Exception {
        var r = cs.run(Containers.newId("net"), null, sh("ls /sys/class/net; grep localhost /etc/hosts | head -1; grep -c nameserver /etc/resolv.conf")
                .network("none").build());
        assertEquals(0, r.status(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("lo", lines.get(0));
        assertEquals("127.0.0.1\tlocalhost", lines.get(1));
        assertTrue(Integer.parseInt(lines.get(2)) >= 1, r.out());
    }
}
