package io.vessel.runtime.it;

import io.vessel.json.JsonNode;
import io.vessel.runtime.spec.Capability;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** process: args, env, cwd, user, umask, capabilities, no_new_privs, rlimits, oom score; kill, ps, state. */
class ProcessTest extends FeatureSupport {

    /** linux.personality LINUX32: uname -m inside says i686 (the 32-bit personality), the host x86_64. */
    @Test
    void personalityLinux32() throws Exception {
        linux().put("personality", Map.of("domain", "LINUX32"));
        assertEquals("i686\n", runOk("uname -m"));
        linux().put("personality", Map.of("domain", "LINUX"));
        assertEquals("x86_64\n", runOk("uname -m"));
        linux().put("personality", Map.of("domain", "MSDOS"));
        RuntimeCli.Result bad = rt.run("run", "--bundle", bundle.write().toString(), id);
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("linux.personality.domain must be LINUX or LINUX32"), bad.err());
    }

    @Test
    void argsEnvAndCwd() throws Exception {
        Files.createDirectories(bundle.rootfs().resolve("work/dir"));
        process().put("env", List.of("PATH=/bin", "GREETING=hello world", "EMPTY="));
        process().put("cwd", "/work/dir");
        bundle.args("sh", "-c", "echo \"$0|$1|$GREETING|${EMPTY-unset}|$(pwd)\"; env | sort", "first arg",
                "second arg").write();
        RuntimeCli.Result r = rt.run("run", "--bundle", bundle.dir.toString(), id).ok();
        List<String> lines = r.out().lines().toList();
        assertEquals("first arg|second arg|hello world||/work/dir", lines.get(0));
        assertTrue(lines.contains("PATH=/bin") && lines.contains("GREETING=hello world"), r.out());
    }

    @Test
    void userGroupsAndUmask() throws Exception {
        process().put("user", obj("uid", 1000, "gid", 1001, "additionalGids", List.of(5, 2000), "umask", 027));
        String out = runOk("id; umask; touch /tmp/f; stat -c '%a %u %g' /tmp/f; grep -E '^(Uid|Gid|Groups)' /proc/self/status");
        List<String> lines = out.lines().toList();
        assertEquals("uid=1000 gid=1001 groups=5(tty),2000", lines.get(0));
        assertEquals("0027", lines.get(1));
        assertEquals("640 1000 1001", lines.get(2));
        Map<String, String> st = statusFields(out);
        assertEquals("1000\t1000\t1000\t1000", st.get("Uid"));
        assertEquals("1001\t1001\t1001\t1001", st.get("Gid"));
        assertEquals("5 2000", st.get("Groups"));
    }

    static long capField(Map<String, String> st, String name) {
        return Long.parseUnsignedLong(st.get(name), 16);
    }

    @Test
    void allFiveCapabilitySetsForANonRootUser() throws Exception {
        List<String> bounding = List.of("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETUID");
        List<String> permitted = List.of("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW");
        List<String> inheritable = List.of("CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW");
        List<String> ambient = List.of("CAP_NET_BIND_SERVICE", "CAP_NET_RAW");
        process().put("user", obj("uid", 1000, "gid", 1000));
        process().put("capabilities", obj("bounding", bounding, "permitted", permitted, "effective", permitted,
                "inheritable", inheritable, "ambient", ambient));
        process().put("noNewPrivileges", false);
        Map<String, String> st = statusFields(runOk("grep -E '^(Cap|NoNewPrivs)' /proc/self/status"));
        // a non-root execve keeps the bounding and inheritable sets; permitted and effective become the ambient set
        assertEquals(Capability.mask(bounding), capField(st, "CapBnd"));
        assertEquals(Capability.mask(inheritable), capField(st, "CapInh"));
        assertEquals(Capability.mask(ambient), capField(st, "CapAmb"));
        assertEquals(Capability.mask(ambient), capField(st, "CapPrm"));
        assertEquals(Capability.mask(ambient), capField(st, "CapEff"));
        assertEquals("0", st.get("NoNewPrivs"));
    }

    @Test
    void capabilitiesOfRootAndNoNewPrivileges() throws Exception {
        List<String> bounding = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SYS_CHROOT");
        List<String> some = List.of("CAP_CHOWN", "CAP_KILL");
        process().put("capabilities", obj("bounding", bounding, "permitted", bounding, "effective", bounding,
                "inheritable", some, "ambient", some));
        process().put("noNewPrivileges", true);
        int pid = createStarted("/bin/sleep", "60");
        Map<String, String> inside = statusFields(exec("cat /proc/1/status"));
        Map<String, String> outside = procStatus(pid);
        for (Map<String, String> st : List.of(inside, outside)) {
            assertEquals(Capability.mask(bounding), capField(st, "CapBnd"));
            assertEquals(Capability.mask(bounding), capField(st, "CapPrm"));
            assertEquals(Capability.mask(bounding), capField(st, "CapEff"));
            assertEquals(Capability.mask(some), capField(st, "CapInh"));
            assertEquals(Capability.mask(some), capField(st, "CapAmb"));
            assertEquals("1", st.get("NoNewPrivs"));
        }
        // the exec'd process gets the same sets
        Map<String, String> execd = statusFields(exec("cat /proc/self/status"));
        assertEquals(Capability.mask(bounding), capField(execd, "CapBnd"));
        assertEquals(Capability.mask(bounding), capField(execd, "CapEff"));
        assertEquals("1", execd.get("NoNewPrivs"));
        // what a missing capability means: no CAP_SYS_ADMIN, so no mount
        RuntimeCli.Result r = rt.run("exec", id, "/bin/sh", "-c", "mount -t tmpfs x /mnt");
        assertNotEquals(0, r.exit());
    }

    @Test
    void rlimits() throws Exception {
        process().put("rlimits", List.of(obj("type", "RLIMIT_NOFILE", "soft", 256, "hard", 512),
                obj("type", "RLIMIT_NPROC", "soft", 1000, "hard", 2000),
                obj("type", "RLIMIT_CORE", "soft", 0, "hard", 0)));
        int pid = createStarted("/bin/sleep", "60");
        assertEquals("256\n512\n", exec("ulimit -n; ulimit -Hn"));
        String limits = Files.readString(Path.of("/proc/" + pid + "/limits"));
        assertTrue(limits.lines().anyMatch(l -> l.startsWith("Max open files") && l.matches(".*\\s256\\s+512\\s.*")), limits);
        assertTrue(limits.lines().anyMatch(l -> l.startsWith("Max processes") && l.matches(".*\\s1000\\s+2000\\s.*")), limits);
    }

    @Test
    void rlimitAboveTheHardLimitFailsAtCreateNamingIt() throws Exception {
        process().put("rlimits", List.of(obj("type", "RLIMIT_NOFILE", "soft", 1 << 30, "hard", 1 << 30)));
        Leftovers before = Leftovers.before(tmp);
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("setrlimit"), r.err());
        before.assertNothingLeft(rt, id);
    }

    @Test
    void oomScoreAdj() throws Exception {
        process().put("oomScoreAdj", 321);
        int pid = createStarted("/bin/sleep", "60");
        assertEquals("321\n", exec("cat /proc/1/oom_score_adj"));
        assertEquals("321", Files.readString(Path.of("/proc/" + pid + "/oom_score_adj")).trim());
    }

    @Test
    void killBySignalNameAndNumberAndAll() throws Exception {
        // the init reports the signals it gets; a second process in the container is killed with --all
        String script = "trap 'echo got-usr1 >> /tmp/log' USR1; trap 'echo got-hup >> /tmp/log' HUP;"
                + " trap 'echo got-term >> /tmp/log; exit 0' TERM; while true; do sleep 0.05; done";
        int pid = createStarted("/bin/sh", "-c", script);
        rt.run("kill", id, "USR1").ok();
        waitFor(() -> exec("cat /tmp/log 2>/dev/null; true").contains("got-usr1"));
        rt.run("kill", id, "SIGHUP").ok();
        waitFor(() -> exec("cat /tmp/log 2>/dev/null; true").contains("got-hup"));
        rt.run("exec", "-d", id, "/bin/sleep", "1000").ok();
        assertTrue(JsonNode.parse("ps", rt.run("ps", "--format", "json", id).ok().out()).elements().size() >= 2);
        rt.run("kill", id, "15").ok();
        waitFor(() -> !Files.exists(Path.of("/proc/" + pid)) || procStatus(pid).get("State").startsWith("Z"));
        String log = Files.readString(bundle.rootfs().resolve("tmp/log"));
        assertEquals("got-usr1\ngot-hup\ngot-term\n", log);
        // pid 1 gone: the kernel kills the rest of the pid namespace; kill --all of a stopped container is allowed
        rt.run("kill", "--all", id, "KILL").ok();
        waitStopped(id);
        RuntimeCli.Result bad = rt.run("kill", id, "NOSUCHSIGNAL");
        assertNotEquals(0, bad.exit());
    }

    @Test
    void killAllReachesEveryProcess() throws Exception {
        int pid = createStarted("/bin/sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000 & wait");
        waitFor(() -> JsonNode.parse("ps", rt.run("ps", "--format", "json", id).ok().out()).elements().size() == 3);
        List<Integer> pids = JsonNode.parse("ps", rt.run("ps", "--format", "json", id).ok().out()).elements()
                .stream().map(JsonNode::intValue).toList();
        assertTrue(pids.contains(pid), pids.toString());
        rt.run("kill", "--all", id, "KILL").ok();
        waitStopped(id);
        for (int p : pids) {
            waitFor(() -> !Files.exists(Path.of("/proc/" + p)) || procStatus(p).get("State").startsWith("Z"));
        }
    }

    @Test
    void psTableAndStateJson() throws Exception {
        bundle.spec.put("annotations", obj("org.example.key", "value"));
        int pid = createStarted("/bin/sleep", "60");
        String table = rt.run("ps", id).ok().out();
        List<String> lines = table.lines().toList();
        assertTrue(lines.get(0).contains("PID") && lines.get(0).contains("CMD"), table);
        assertTrue(lines.stream().anyMatch(l -> l.contains(" " + pid + " ") && l.contains("sleep 60")), table);
        assertEquals(2, lines.size(), "only the container's process: " + table);
        JsonNode st = state(id);
        assertEquals(id, st.get("id").string());
        assertEquals(pid, st.get("pid").intValue());
        assertEquals("running", st.get("status").string());
        assertEquals(bundle.dir.toString(), st.get("bundle").string());
        assertTrue(st.get("ociVersion").string().startsWith("1."));
        assertTrue(st.get("created").string().matches("\\d{4}-\\d\\d-\\d\\dT.*"), st.get("created").string());
        assertEquals("value", st.get("annotations").get("org.example.key").string());
    }
}
