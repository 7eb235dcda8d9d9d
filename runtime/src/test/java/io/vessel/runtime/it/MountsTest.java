package io.vessel.runtime.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** root, mounts, /dev, maskedPaths, readonlyPaths, sysctl: what the container sees and what the host keeps. */
class MountsTest extends FeatureSupport {

    /** Mounts a tmpfs at {@code dir} on the host for this test; unmounted at the end. */
    Path hostTmpfs(Path dir, boolean shared) throws Exception {
        Files.createDirectories(dir);
        host("mount", "-t", "tmpfs", "-o", "size=16m", "vessel-test", dir.toString());
        cleanups.add(() -> host("umount", "-l", dir.toString()));
        if (shared) {
            host("mount", "--make-shared", dir.toString());
        }
        return dir;
    }

    @Test
    void readonlyRootRefusesWritesWithEROFS() throws Exception {
        bundle.spec.put("root", obj("path", "rootfs", "readonly", true));
        String out = runOk("touch /newfile 2>&1; echo scratch > /dev/shm/ok && cat /dev/shm/ok;"
                + " awk '$5 == \"/\"' /proc/self/mountinfo");
        assertTrue(out.contains("Read-only file system"), out);
        assertTrue(out.contains("scratch"), "mounts on top of a read-only root stay writable: " + out);
        assertTrue(out.lines().map(l -> l.split(" "))
                .anyMatch(f -> f.length > 5 && f[4].equals("/") && f[5].startsWith("ro,")), out);
        assertFalse(Files.exists(bundle.rootfs().resolve("newfile")));
    }

    /** runtime-spec 1.1's recursive attributes: "ro" leaves a submount writable, "rro" does not. */
    @Test
    void recursiveReadOnlyReachesSubmounts() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("rro-src"));
        hostTmpfs(src.resolve("sub"), false);
        mounts().add(mount("/ro", null, src.toString(), "rbind", "ro"));
        mounts().add(mount("/rro", null, src.toString(), "rbind", "rro", "rnosuid"));
        String out = runOk("""
                touch /ro/top 2>&1; touch /ro/sub/a && echo ro-sub-writable
                touch /rro/top 2>&1; touch /rro/sub/b 2>&1
                grep ' /rro/sub ' /proc/self/mountinfo
                """);
        assertTrue(out.contains("touch: /ro/top: Read-only file system"), out);
        assertTrue(out.contains("ro-sub-writable"), "plain ro is for the top mount only: " + out);
        assertTrue(out.contains("touch: /rro/top: Read-only file system"), out);
        assertTrue(out.contains("touch: /rro/sub/b: Read-only file system"), "rro reaches the submount: " + out);
        assertTrue(out.lines().filter(l -> l.contains(" /rro/sub ")).allMatch(l -> l.contains(" ro,nosuid")), out);
    }

    @Test
    void bindMountsReadOnlyRecursiveFileAndRelative() throws Exception {
        Path ro = Files.createDirectories(tmp.resolve("ro-src"));
        Files.writeString(ro.resolve("hello"), "from the host\n");
        Path rec = Files.createDirectories(tmp.resolve("rec-src"));
        hostTmpfs(rec.resolve("sub"), false);
        Files.writeString(rec.resolve("sub/inner"), "submount\n");
        Path file = Files.writeString(tmp.resolve("single-file"), "just one file\n");
        Files.createDirectories(bundle.dir.resolve("relative-src"));
        Files.writeString(bundle.dir.resolve("relative-src/rel"), "relative to the bundle\n");

        mounts().add(mount("/ro", null, ro.toString(), "bind", "ro"));
        mounts().add(mount("/rbind", null, rec.toString(), "rbind"));
        mounts().add(mount("/plainbind", null, rec.toString(), "bind"));
        mounts().add(mount("/etc/single", null, file.toString(), "bind", "ro"));
        mounts().add(mount("/rel", "bind", "relative-src", "bind"));
        String out = runOk("""
                cat /ro/hello
                touch /ro/x 2>&1
                cat /rbind/sub/inner
                ls /plainbind/sub | wc -l
                cat /etc/single
                echo more >> /etc/single 2>&1
                cat /rel/rel
                """);
        assertTrue(out.contains("from the host"), out);
        assertTrue(out.contains("touch: /ro/x: Read-only file system"), out);
        assertTrue(out.contains("submount"), "rbind takes submounts along: " + out);
        assertTrue(out.contains("\n0\n"), "bind does not take submounts along: " + out);
        assertTrue(out.contains("just one file"), out);
        assertTrue(out.contains("Read-only file system"), out);
        assertTrue(out.contains("relative to the bundle"), out);
        assertEquals("just one file\n", Files.readString(file));
        assertFalse(Files.exists(ro.resolve("x")));
    }

    @Test
    void mountsAreMadeInOrder() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("inner"));
        Files.writeString(src.resolve("f"), "on top\n");
        // the bind's target only exists inside the tmpfs mounted just before it
        mounts().add(mount("/stack", "tmpfs", "tmpfs", "size=1m"));
        mounts().add(mount("/stack/inner", null, src.toString(), "bind"));
        String out = runOk("cat /stack/inner/f; grep -c ' /stack' /proc/self/mountinfo");
        assertEquals("on top\n2\n", out);
    }

    @Test
    void tmpfsSizeAndMode() throws Exception {
        mounts().add(mount("/scratch", "tmpfs", "tmpfs", "nosuid", "nodev", "size=1m", "mode=1750"));
        String out = runOk("stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo");
        List<String> lines = out.lines().toList();
        assertEquals("1750", lines.get(0));
        assertTrue(lines.get(1).contains("nosuid,nodev") && lines.get(1).contains("size=1024k")
                && lines.get(1).contains("mode=1750"), lines.get(1));
    }

    @Test
    void procSysfsDevptsMqueueAndCgroupFileSystems() throws Exception {
        String out = runOk("""
                awk '{print $5, $9}' /proc/self/mountinfo
                echo ptmx=$(stat -c %a /dev/pts/ptmx)
                echo pts=$(ls /dev/pts | tr '\\n' ' ')
                echo memfiles=$(ls /sys/fs/cgroup/memory | grep -c limit_in_bytes)
                echo procs=$(cat /sys/fs/cgroup/pids/cgroup.procs | wc -l)
                echo mounted-cgroups=$(grep -c ' - cgroup cgroup ' /proc/self/mountinfo)
                """);
        assertTrue(out.contains("/proc proc"), out);
        assertTrue(out.contains("/sys sysfs"), out);
        assertTrue(out.contains("/dev/pts devpts"), out);
        assertTrue(out.contains("/dev/mqueue mqueue"), out);
        assertTrue(out.contains("/sys/fs/cgroup tmpfs"), out);
        for (String c : List.of("memory", "cpu", "pids", "devices", "freezer")) {
            assertTrue(out.contains("/sys/fs/cgroup/" + c + " cgroup"), c + ": " + out);
        }
        assertTrue(out.contains("ptmx=666"), "devpts ptmxmode=0666: " + out);
        assertTrue(out.contains("pts=ptmx \n") || out.contains("pts=ptmx\n"),
                "a new devpts instance has none of the host's terminals: " + out);
        assertTrue(out.contains("memfiles=") && !out.contains("memfiles=0"), out);
        // with a cgroup namespace the container's own cgroup is the root of the mount: only its processes
        int procs = Integer.parseInt(out.lines().filter(l -> l.startsWith("procs=")).findFirst().orElseThrow()
                .substring(6).trim());
        assertTrue(procs >= 1 && procs <= 4, out);
    }

    @Test
    void cgroupMountWithoutACgroupNamespaceShowsTheContainersOwnCgroup() throws Exception {
        removeNamespace("cgroup");
        String out = runOk("grep memory /proc/self/cgroup; ls /sys/fs/cgroup/memory | grep -c limit_in_bytes;"
                + " cat /sys/fs/cgroup/pids/cgroup.procs | wc -l; touch /sys/fs/cgroup/memory/x 2>&1; true");
        assertTrue(out.contains(":memory:/vessel/" + id + "\n"), "no cgroup namespace: the host path shows: " + out);
        assertTrue(out.contains("Read-only file system"), "mounted ro as the default spec says: " + out);
        int procs = Integer.parseInt(out.lines().toList().get(2).trim());
        assertTrue(procs >= 1 && procs <= 4, "the container's own cgroup is bound, not the host's root: " + out);
    }

    @Test
    void noPivotMovesAndChroots() throws Exception {
        bundle.args("/bin/sh", "-c", "ls /; cat /proc/self/mountinfo | grep -c ' / / '; hostname").write();
        RuntimeCli.Result r = rt.run("run", "--no-pivot", "--bundle", bundle.dir.toString(), id);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("bin\n") && r.out().contains("proc\n"), r.out());
        assertFalse(r.out().contains("work\n"), "the host's root is out of sight: " + r.out());
        assertTrue(r.out().endsWith("vessel\n"), r.out());
    }

    @Test
    void rootfsPropagationAndBindPropagationFlags() throws Exception {
        // the bundle on a shared mount, as on a systemd host
        Path shared = hostTmpfs(tmp.resolve("sharedfs"), true);
        Path volume = hostTmpfs(tmp.resolve("volume"), true);
        bundle = Bundle.create(shared);
        mounts().add(mount("/vol-slave", null, volume.toString(), "rbind", "rslave"));
        mounts().add(mount("/vol-private", null, volume.toString(), "rbind", "rprivate"));
        int pid = createStarted("/bin/sleep", "60");
        List<String> inside = Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo"));
        String root = inside.stream().filter(l -> l.split(" ")[4].equals("/")).findFirst().orElseThrow();
        assertTrue(root.contains("master:"), "default rootfsPropagation rslave: the root is a slave: " + root);
        // the container's mounts do not show up on the host, under the bundle
        assertEquals(List.of(), hostMountsUnder(bundle.dir), "container mounts leaked to the host");
        // a mount the host makes in a volume after start reaches the rslave bind, not the rprivate one
        Path late = Files.createDirectories(volume.resolve("late"));
        host("mount", "-t", "tmpfs", "late", late.toString());
        cleanups.add(() -> host("umount", "-l", late.toString()));
        Files.writeString(late.resolve("marker"), "late\n");
        assertEquals("late\n", exec("cat /vol-slave/late/marker"));
        assertEquals("0\n", exec("ls /vol-private/late | wc -l"));
        rt.run("delete", "--force", id).ok();
        assertEquals(List.of(), hostMountsUnder(bundle.dir));
    }

    @Test
    void sharedRootfsPropagationDoesNotLeakMountsToTheHost() throws Exception {
        Path shared = hostTmpfs(tmp.resolve("sharedfs"), true);
        bundle = Bundle.create(shared);
        linux().put("rootfsPropagation", "shared");
        int pid = createStarted("/bin/sleep", "60");
        String root = Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].equals("/")).findFirst().orElseThrow();
        assertTrue(root.contains("shared:"), "rootfsPropagation shared: " + root);
        assertEquals(List.of(), hostMountsUnder(bundle.dir), "container mounts leaked to the host");
        rt.run("delete", "--force", id).ok();
        assertEquals(List.of(), hostMountsUnder(bundle.dir), "container mounts left on the host");
    }

    @Test
    void privateRootfsPropagation() throws Exception {
        Path shared = hostTmpfs(tmp.resolve("sharedfs"), true);
        bundle = Bundle.create(shared);
        linux().put("rootfsPropagation", "private");
        int pid = createStarted("/bin/sleep", "60");
        String root = Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].equals("/")).findFirst().orElseThrow();
        assertFalse(root.contains("master:") || root.contains("shared:"), root);
    }

    @Test
    void defaultDevicesAndSymlinks() throws Exception {
        String out = runOk("cd /dev; for f in null zero full random urandom tty; do stat -c '%n %A %t:%T' $f; done;"
                + " for l in fd stdin stdout stderr ptmx; do echo $l '->' $(readlink $l); done");
        for (String dev : List.of("null crw-rw-rw- 1:3", "zero crw-rw-rw- 1:5", "full crw-rw-rw- 1:7",
                "random crw-rw-rw- 1:8", "urandom crw-rw-rw- 1:9", "tty crw-rw-rw- 5:0",
                "fd -> /proc/self/fd", "stdin -> /proc/self/fd/0", "stdout -> /proc/self/fd/1",
                "stderr -> /proc/self/fd/2", "ptmx -> pts/ptmx")) {
            assertTrue(out.lines().anyMatch(l -> l.equals(dev)), dev + ":\n" + out);
        }
    }

    @Test
    void linuxDevicesAreCreatedWithModeOwnerAndAllowed() throws Exception {
        linux().put("devices", List.of(
                obj("type", "c", "path", "/dev/mynull", "major", 1, "minor", 3, "fileMode", 0640, "uid", 0, "gid", 1001),
                obj("type", "c", "path", "/dev/sub/myzero", "major", 1, "minor", 5, "fileMode", 0600, "uid", 1000,
                        "gid", 1000)));
        String out = runOk("stat -c '%n %A %u %g %t:%T' /dev/mynull /dev/sub/myzero;"
                + " echo data > /dev/mynull && echo write-ok");
        assertTrue(out.contains("/dev/mynull crw-r----- 0 1001 1:3\n"), out);
        assertTrue(out.contains("/dev/sub/myzero crw------- 1000 1000 1:5\n"), out);
        assertTrue(out.contains("write-ok"), out);
    }

    @Test
    void maskedAndReadonlyPaths() throws Exception {
        Files.writeString(bundle.rootfs().resolve("etc/secret"), "do not read\n");
        Files.createDirectories(bundle.rootfs().resolve("opt/hidden"));
        Files.writeString(bundle.rootfs().resolve("opt/hidden/file"), "hidden\n");
        List<Object> masked = Bundle.list(linux(), "maskedPaths");
        masked.add("/etc/secret");
        masked.add("/opt/hidden");
        Bundle.list(linux(), "readonlyPaths").add("/etc");
        String out = runOk("""
                echo secret=[$(cat /etc/secret)]
                echo hidden=[$(ls /opt/hidden)]
                echo keys=[$(cat /proc/keys)]
                touch /etc/new 2>&1
                echo x > /proc/sys/kernel/domainname 2>&1
                touch /tmp/writable && echo tmp-ok
                """);
        assertTrue(out.contains("secret=[]"), out);
        assertTrue(out.contains("hidden=[]"), out);
        assertTrue(out.contains("keys=[]"), "the default masked /proc/keys: " + out);
        assertTrue(out.contains("touch: /etc/new: Read-only file system"), out);
        assertTrue(out.contains("Read-only file system"), "/proc/sys is read-only: " + out);
        assertTrue(out.contains("tmp-ok"), out);
        assertEquals("do not read\n", Files.readString(bundle.rootfs().resolve("etc/secret")));
    }

    @Test
    void sysctlInTheContainersNamespaces() throws Exception {
        String hostForward = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).trim();
        String hostShmmax = Files.readString(Path.of("/proc/sys/kernel/shmmax")).trim();
        linux().put("sysctl", obj("net.ipv4.ip_forward", hostForward.equals("1") ? "0" : "1",
                "kernel.shmmax", "123456789"));
        String out = runOk("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax");
        assertEquals((hostForward.equals("1") ? "0" : "1") + "\n123456789\n", out);
        assertEquals(hostForward, Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).trim());
        assertEquals(hostShmmax, Files.readString(Path.of("/proc/sys/kernel/shmmax")).trim());
    }

    @Test
    void sysctlOutsideTheContainersNamespacesIsRejected() throws Exception {
        removeNamespace("network");
        linux().put("sysctl", obj("net.ipv4.ip_forward", "1"));
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("linux.sysctl") && r.err().contains("net.ipv4.ip_forward"), r.err());
    }
}
