package io.vessel.runtime.it;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** linux.namespaces: new ones, joined ones, user and time namespaces, seen from inside and outside. */
class NamespacesTest extends FeatureSupport {

    @Test
    void newNamespacesFromInsideAndOutside() throws Exception {
        bundle.spec.put("hostname", "nsbox");
        bundle.spec.put("domainname", "example.test");
        int pid = createStarted("/bin/sleep", "60");
        // outside: every namespace differs from ours, and the init is pid 1 in its pid namespace
        for (String ns : List.of("pid", "net", "ipc", "uts", "mnt", "cgroup")) {
            assertNotEquals(nsLink("self", ns), nsLink(pid, ns), ns);
        }
        assertEquals(nsLink("self", "user"), nsLink(pid, "user"), "no user namespace was asked for");
        assertEquals(nsLink("self", "time"), nsLink(pid, "time"), "no time namespace was asked for");
        String[] nspid = procStatus(pid).get("NSpid").split("\\s+");
        assertEquals(List.of(Integer.toString(pid), "1"), List.of(nspid));
        // inside
        String out = exec("""
                echo pid1=$(cat /proc/1/comm)
                echo host=$(hostname)
                echo domain=$(cat /proc/sys/kernel/domainname)
                echo links=$(ls /sys/class/net | tr '\\n' ' ')
                grep -v ':/$' /proc/self/cgroup || echo cgroups-at-root
                """);
        Map<String, String> kv = keyValues(out);
        assertEquals("sleep", kv.get("pid1"));
        assertEquals("nsbox", kv.get("host"));
        assertEquals("example.test", kv.get("domain"));
        assertEquals("lo", kv.get("links").trim(), "a new network namespace has only lo");
        assertTrue(out.contains("cgroups-at-root"), "cgroup namespace: every line of /proc/self/cgroup is /: " + out);
        // the host's names are untouched
        assertNotEquals("nsbox", Files.readString(Path.of("/proc/sys/kernel/hostname")).trim());
        // the exec'd process joined the same namespaces
        String execPid = exec("echo $$").trim();
        assertTrue(Integer.parseInt(execPid) > 1, execPid);
    }

    @Test
    void initIsPidOneAndSeesOnlyItsProcesses() throws Exception {
        String out = runOk("echo $$; ls -d /proc/[0-9]* | wc -l");
        List<String> lines = out.lines().toList();
        assertEquals("1", lines.get(0));
        assertTrue(Integer.parseInt(lines.get(1).trim()) <= 3, "only sh and ls in the pid namespace: " + out);
    }

    @Test
    void joinsANetworkNamespaceByPath() throws Exception {
        String name = "vessel-" + id;
        host("ip", "netns", "add", name);
        cleanups.add(() -> host("ip", "netns", "delete", name));
        host("ip", "-n", name, "link", "set", "lo", "up");
        host("ip", "-n", name, "addr", "add", "127.0.0.42/8", "dev", "lo");
        Path nsFile = Path.of("/run/netns/" + name);
        addNamespace("network", nsFile.toString());
        int pid = createStarted("/bin/sleep", "60");
        long ino = (Long) Files.getAttribute(nsFile, "unix:ino");
        assertEquals("net:[" + ino + "]", nsLink(pid, "net"));
        String out = exec("ip addr show lo");
        assertTrue(out.contains("127.0.0.42"), out);
        assertTrue(out.contains("UP"), out);
        // an exec'd process lands in the same network namespace
        assertTrue(exec("ip addr").contains("127.0.0.42"));
    }

    @Test
    void joinsTheNamespacesOfAnotherContainer() throws Exception {
        bundle.spec.put("hostname", "first");
        int first = createStarted("/bin/sleep", "60");
        String firstId = id;

        Bundle second = Bundle.create(tmp.resolve("second"));
        second.spec.remove("hostname");
        List<Object> ns = Bundle.list(Bundle.map(second.spec, "linux"), "namespaces");
        ns.clear();
        ns.add(obj("type", "pid"));
        ns.add(obj("type", "mount"));
        ns.add(obj("type", "network", "path", "/proc/" + first + "/ns/net"));
        ns.add(obj("type", "uts", "path", "/proc/" + first + "/ns/uts"));
        ns.add(obj("type", "ipc", "path", "/proc/" + first + "/ns/ipc"));
        second.args("/bin/sleep", "60").write();
        String secondId = firstId + "b";
        rt.run("create", "--bundle", second.dir.toString(), secondId).ok();
        rt.run("start", secondId).ok();
        int pid2 = state(secondId).get("pid").intValue();
        for (String n : List.of("net", "uts", "ipc")) {
            assertEquals(nsLink(first, n), nsLink(pid2, n), n);
        }
        assertNotEquals(nsLink(first, "pid"), nsLink(pid2, "pid"));
        assertNotEquals(nsLink(first, "mnt"), nsLink(pid2, "mnt"));
        RuntimeCli.Result r = rt.run("exec", secondId, "hostname");
        assertEquals("first\n", r.ok().out(), "the joined uts namespace carries the first container's name");
        rt.run("delete", "--force", secondId).ok();
    }

    @Test
    void duplicateNamespaceTypeIsRejectedNamingTheField() throws Exception {
        namespaces().add(obj("type", "network"));
        Leftovers before = Leftovers.before(tmp);
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("linux.namespaces[") && r.err().contains("\"network\" is given twice"), r.err());
        before.assertNothingLeft(rt, id);
    }

    @Test
    void userNamespaceMapsRootToAnUnprivilegedHostUser() throws Exception {
        userNamespace();
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        host("chown", "100000:100000", shared.toString());
        mounts().add(mount("/data", null, shared.toString(), "bind", "rw"));
        int pid = createStarted("/bin/sleep", "60");

        // outside: the maps, the host uid, a namespace of its own
        assertEquals(List.of("0", "100000", "65536"),
                List.of(Files.readString(Path.of("/proc/" + pid + "/uid_map")).trim().split("\\s+")));
        assertEquals(List.of("0", "100000", "65536"),
                List.of(Files.readString(Path.of("/proc/" + pid + "/gid_map")).trim().split("\\s+")));
        assertTrue(procStatus(pid).get("Uid").startsWith("100000"), procStatus(pid).get("Uid"));
        assertNotEquals(nsLink("self", "user"), nsLink(pid, "user"));
        // inside: root
        String out = exec("id; touch /data/made-inside; ls -ln /data/made-inside");
        assertTrue(out.startsWith("uid=0(root) gid=0(root)"), out);
        assertTrue(out.contains(" 0 ") , out);
        Path made = shared.resolve("made-inside");
        assertEquals(100000, Files.getAttribute(made, "unix:uid"), "a file made by container root belongs to host 100000");
        assertEquals(100000, Files.getAttribute(made, "unix:gid"));
        // root in the container is not root on the host: the host's files stay out of reach
        RuntimeCli.Result denied = rt.run("exec", id, "/bin/sh", "-c", "echo x > /proc/sys/kernel/hostname");
        assertNotEquals(0, denied.exit(), "container root must not write a host-wide sysctl");
    }

    @Test
    void userNamespaceWithDefaultMountsAndDevices() throws Exception {
        userNamespace();
        process().put("oomScoreAdj", 200);
        String out = runOk("cat /proc/self/uid_map; cat /proc/self/oom_score_adj; echo x > /dev/null && echo null-ok;"
                + " ls /sys/fs/cgroup | wc -l; ls /sys/class/net");
        assertTrue(out.contains("100000"), out);
        assertTrue(out.contains("200\n"), out);
        assertTrue(out.contains("null-ok"), out);
    }

    @Test
    void timeNamespaceOffsetsMonotonicAndBoottime() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/proc/self/ns/time")), "kernel without time namespaces");
        addNamespace("time", null);
        long days = 10 * 86400L;
        linux().put("timeOffsets", obj("boottime", obj("secs", days, "nanosecs", 0),
                "monotonic", obj("secs", days, "nanosecs", 0)));
        int pid = createStarted("/bin/sleep", "60");
        assertNotEquals(nsLink("self", "time"), nsLink(pid, "time"));
        String offsets = Files.readString(Path.of("/proc/" + pid + "/timens_offsets"));
        assertTrue(offsets.contains("monotonic") && offsets.contains(Long.toString(days)), offsets);
        double hostUptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
        double inside = Double.parseDouble(exec("cat /proc/uptime").split(" ")[0]);
        assertTrue(inside >= hostUptime + days - 5 && inside <= hostUptime + days + 60,
                "uptime inside " + inside + ", host " + hostUptime);
    }

    @Test
    void timeOffsetsWithoutATimeNamespaceAreRejected() throws Exception {
        linux().put("timeOffsets", obj("monotonic", obj("secs", 1, "nanosecs", 0)));
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("linux.timeOffsets"), r.err());
        assertFalse(Files.exists(rt.root.resolve(id)));
    }

    static Map<String, String> keyValues(String out) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (String line : out.lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return m;
    }
}
