package io.vessel.engine.container;

import io.vessel.engine.volume.VolumeStore;
import io.vessel.image.oci.ImageConfig;
import io.vessel.runtime.spec.Spec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The config.json made from image configs and run options; every one is checked by the runtime's own parser. */
class BundleMakerTest {
    @TempDir
    Path dir;
    Path containerDir;
    VolumeStore store;
    BundleMaker maker;

    @BeforeEach
    void setUp() throws IOException {
        containerDir = dir.resolve("c");
        Path rootfs = Files.createDirectories(containerDir.resolve("rootfs/etc"));
        Files.writeString(rootfs.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
        Files.writeString(rootfs.resolve("group"), "root:x:0:\nwheel:x:10:app\n");
        store = VolumeStore.open(dir.resolve("store"));
        maker = new BundleMaker(store);
    }

    private Spec make(ImageConfig image, RunOptions o) throws IOException {
        BundleMaker.Made m = maker.make("0123456789abcdef", containerDir, image, o);
        String written = Files.readString(containerDir.resolve("config.json"));
        assertEquals(m.configJson(), written);
        return Spec.parse(written);
    }

    private static ImageConfig image(List<String> env, List<String> entrypoint, List<String> cmd) {
        return new ImageConfig(null, null, "amd64", "linux", null,
                new ImageConfig.Config(null, env, entrypoint, cmd, null, new java.util.LinkedHashSet<>(List.of("80/tcp", "53/udp")), Set.of(), Map.of(),
                        "SIGQUIT", List.of(), null, List.of()),
                new ImageConfig.RootFs("layers", List.of()), List.of());
    }

    @Test
    void dockerDefaults() throws IOException {
        Spec s = make(image(List.of(), List.of(), List.of("sh")), RunOptions.builder().build());
        assertEquals(List.of("sh"), s.process().args());
        assertEquals(List.of("PATH=" + BundleMaker.DEFAULT_PATH, "HOSTNAME=0123456789ab", "HOME=/root"), s.process().env());
        assertEquals("0123456789ab", s.hostname());
        assertEquals("/", s.process().cwd());
        assertEquals(BundleMaker.DEFAULT_CAPABILITIES, s.process().capabilities().bounding());
        assertEquals(BundleMaker.DEFAULT_CAPABILITIES, s.process().capabilities().effective());
        assertEquals(List.of(), s.process().capabilities().inheritable());
        assertFalse(s.root().readonly());
        List<String> ns = s.linux().namespaces().stream().map(Spec.Namespace::type).toList();
        assertEquals(List.of("pid", "ipc", "uts", "mount", "network"), ns);
        assertEquals(BundleMaker.MASKED_PATHS, s.linux().maskedPaths());
        assertEquals(BundleMaker.READONLY_PATHS, s.linux().readonlyPaths());
        List<String> dests = s.mounts().stream().map(Spec.Mount::destination).toList();
        assertEquals(List.of("/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
                "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"), dests);
        assertTrue(s.mounts().get(6).options().contains("size=67108864"), "/dev/shm is 64m");
        assertTrue(s.mounts().get(3).options().contains("ro"), "/sys is read-only");
        assertEquals(containerDir.resolve("hosts").toString(), s.mounts().get(8).source());
        assertEquals("0123456789ab\n", Files.readString(containerDir.resolve("hostname")));
        assertEquals("SIGQUIT", s.annotations().get(BundleMaker.STOP_SIGNAL_ANNOTATION));
        assertEquals("80/tcp,53/udp", s.annotations().get(BundleMaker.EXPOSED_PORTS_ANNOTATION));
        assertTrue(s.process().rlimits().isEmpty());
        assertEquals("/vessel/0123456789abcdef", s.linux().cgroupsPath());
    }

    @Test
    void entrypointAndCmdAsDocker() throws IOException {
        ImageConfig img = image(List.of(), List.of("/entry", "-x"), List.of("default", "args"));
        assertEquals(List.of("/entry", "-x", "default", "args"), make(img, RunOptions.builder().build()).process().args());
        assertEquals(List.of("/entry", "-x", "mine"), make(img, RunOptions.builder().cmd("mine").build()).process().args());
        assertEquals(List.of("/other"), make(img, RunOptions.builder().entrypoint("/other").build()).process().args(),
                "a new entrypoint drops the image's CMD");
        assertEquals(List.of("/other", "a"), make(img, RunOptions.builder().entrypoint("/other").cmd("a").build()).process().args());
        assertEquals(List.of("default", "args"), make(img, RunOptions.builder().entrypoint("").build()).process().args(),
                "--entrypoint \"\" clears it and keeps CMD");
        assertEquals(List.of("ls"), make(img, RunOptions.builder().entrypoint("").cmd("ls").build()).process().args());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> make(image(List.of(), List.of(), List.of()), RunOptions.builder().build()));
        assertTrue(e.getMessage().startsWith("no command specified"), e.getMessage());
    }

    @Test
    void environment() throws IOException {
        ImageConfig img = image(List.of("PATH=/opt/bin", "A=image", "HOME=/data"), List.of(), List.of("sh"));
        Spec s = make(img, RunOptions.builder().env("A=run").env("B=x=y").tty(true).hostname("h").build());
        assertEquals(List.of("HOSTNAME=h", "TERM=xterm", "PATH=/opt/bin", "A=run", "HOME=/data", "B=x=y"), s.process().env());
        assertTrue(s.process().terminal());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> make(img, RunOptions.builder().env("NOVALUE").build())).getMessage().contains("\"NOVALUE\""));
    }

    @Test
    void capabilitiesTable() throws IOException {
        ImageConfig img = image(List.of(), List.of(), List.of("sh"));
        List<String> all = BundleMaker.hostCapabilities();
        List<String> dropped = new ArrayList<>(BundleMaker.DEFAULT_CAPABILITIES);
        dropped.remove("CAP_NET_RAW");
        dropped.add("CAP_SYS_ADMIN");
        assertEquals(dropped, make(img, RunOptions.builder().capDrop("net_raw").capAdd("SYS_ADMIN").build())
                .process().capabilities().bounding());
        assertEquals(List.of("CAP_CHOWN"), make(img, RunOptions.builder().capDrop("ALL").capAdd("chown").build())
                .process().capabilities().bounding());
        List<String> allButKill = new ArrayList<>(all);
        allButKill.remove("CAP_KILL");
        assertEquals(allButKill, make(img, RunOptions.builder().capAdd("ALL").capDrop("CAP_KILL").build())
                .process().capabilities().bounding());
        assertEquals("--cap-add: unknown capability: \"CAP_FLY\"", assertThrows(IllegalArgumentException.class,
                () -> make(img, RunOptions.builder().capAdd("CAP_FLY").build())).getMessage());
        Spec s = make(img, RunOptions.builder().user("app").build());
        assertEquals(BundleMaker.DEFAULT_CAPABILITIES, s.process().capabilities().bounding());
        assertEquals(List.of(), s.process().capabilities().effective(), "non-root: nothing effective");
        assertEquals(List.of(), s.process().capabilities().permitted());
        assertEquals(1000, s.process().user().uid());
        assertEquals(List.of(10L), s.process().user().additionalGids());
    }

    @Test
    void privilegedAndResources() throws IOException {
        ImageConfig img = image(List.of(), List.of(), List.of("sh"));
        Spec p = make(img, RunOptions.builder().privileged(true).build());
        assertEquals(BundleMaker.hostCapabilities(), p.process().capabilities().bounding());
        assertEquals(List.of(), p.linux().maskedPaths());
        assertTrue(p.mounts().stream().filter(m -> m.destination().equals("/sys")).findFirst().orElseThrow()
                .options().contains("rw"));
        assertTrue(p.linux().resources().devices().getFirst().allow());
        assertTrue(p.linux().devices().stream().anyMatch(d -> d.path().equals("/dev/null")), "host devices are given");

        Spec r = make(img, RunOptions.builder().memory(64L << 20).cpus(1.5).pidsLimit(100).readOnly(true).build());
        assertEquals(64L << 20, r.linux().resources().memory().limit());
        assertEquals(150_000L, r.linux().resources().cpu().quota());
        assertEquals(100_000L, r.linux().resources().cpu().period());
        assertEquals(100L, r.linux().resources().pidsLimit());
        assertTrue(r.root().readonly());
    }

    @Test
    void networkHostSharesTheHostsNetwork() throws IOException {
        Spec s = make(image(List.of(), List.of(), List.of("sh")), RunOptions.builder().network("host").build());
        assertNull(s.namespace("network"));
        assertEquals(Files.readString(Path.of("/proc/sys/kernel/hostname")).trim(), s.hostname());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> make(image(List.of(), List.of(), List.of("sh")),
                RunOptions.builder().network("bridge").build())).getMessage().startsWith("network \"bridge\" is not available"));
    }

    @Test
    void userMountsReplaceDefaultsAndComeParentsFirst() throws IOException {
        Spec s = make(image(List.of(), List.of(), List.of("sh")), RunOptions.builder()
                .tmpfs("/data/cache").volume("vol1:/data").tmpfs("/dev/shm:size=1m").volume(dir.resolve("h") + ":/etc/hosts:ro").build());
        List<String> dests = s.mounts().stream().map(Spec.Mount::destination).toList();
        assertEquals(1, dests.stream().filter("/dev/shm"::equals).count());
        assertEquals(1, dests.stream().filter("/etc/hosts"::equals).count());
        assertTrue(dests.indexOf("/data") < dests.indexOf("/data/cache"), dests.toString());
        Spec.Mount shm = s.mounts().stream().filter(m -> m.destination().equals("/dev/shm")).findFirst().orElseThrow();
        assertEquals(List.of("nosuid", "nodev", "noexec", "size=1048576"), shm.options());
        Spec.Mount vol = s.mounts().stream().filter(m -> m.destination().equals("/data")).findFirst().orElseThrow();
        assertEquals(store.inspect("vol1").mountpoint().toString(), vol.source());
        assertEquals(List.of("rbind", "rprivate", "rw"), vol.options());
        assertEquals(List.of("0123456789abcdef"), store.inspect("vol1").users());
        store.releaseAll("0123456789abcdef");
    }

    @Test
    void aFailedMakeReleasesWhatItTook() throws IOException {
        ImageConfig img = new ImageConfig(null, null, "amd64", "linux", null,
                new ImageConfig.Config("ghost", List.of(), List.of(), List.of("sh"), null, Set.of(), Set.of("/v"), Map.of(),
                        null, List.of(), null, List.of()), new ImageConfig.RootFs("layers", List.of()), List.of());
        assertThrows(IllegalArgumentException.class, () -> maker.make("c1", containerDir, img, RunOptions.builder().build()));
        RunOptions bad = RunOptions.builder().volume("keep:/a").mountFlag("type=bind,source=/nonexistent-x,target=/b").build();
        assertThrows(IllegalArgumentException.class, () -> maker.make("c2", containerDir, image(List.of(), List.of(),
                List.of("sh")), bad));
        assertEquals(List.of(), store.inspect("keep").users(), "the volume taken before the failure was released");
        assertEquals(List.of("keep"), store.list(VolumeStore.Filter.ALL).stream().map(v -> v.name()).toList(),
                "no anonymous volume is left behind");
        assertFalse(Files.exists(containerDir.resolve("config.json")));
        assertFalse(Files.exists(containerDir.resolve("hosts")));
    }

    @Test
    void resolvConfDropsLoopbackNameservers() {
        assertEquals("search example.org\nnameserver 10.0.0.2\n",
                ResolvConf.forContainer("search example.org\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\n"));
        assertEquals("options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n",
                ResolvConf.forContainer("nameserver 127.0.0.1\noptions edns0\n"));
    }
}
