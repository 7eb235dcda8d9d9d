package io.vessel.runtime.it;

import io.vessel.json.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OCI lifecycle through the real command: create, state, start, kill, delete, and what each leaves. */
class LifecycleTest extends FeatureSupport {

    static JsonNode state(RuntimeCli rt, String id) throws Exception {
        return JsonNode.parse("state", rt.run("state", id).ok().out());
    }

    @Test
    void runPrintsOutputAndReturnsTheExitStatus() throws Exception {
        bundle.args("/bin/sh", "-c", "echo hello from $(hostname); exit 3").write();
        RuntimeCli.Result r = rt.run("run", "--bundle", bundle.dir.toString(), "c1");
        assertEquals(3, r.exit(), r.err());
        assertEquals("hello from vessel\n", r.out());
        assertEquals("", rt.run("list", "-q").out(), "run removes the container after it exits");
    }

    @Test
    void createStartKillDelete() throws Exception {
        bundle.args("/bin/sleep", "60").write();
        rt.run("create", "--bundle", bundle.dir.toString(), "--pid-file", tmp.resolve("pid").toString(), "c2").ok();
        JsonNode st = state(rt, "c2");
        assertEquals("created", st.get("status").string());
        int pid = st.get("pid").intValue();
        assertEquals(Integer.toString(pid), Files.readString(tmp.resolve("pid")));
        // the init waits in the new namespaces, not in ours
        for (String ns : List.of("pid", "mnt", "uts", "ipc", "net", "cgroup")) {
            assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/" + ns)),
                    Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + ns)), ns);
        }
        // start twice: the second is refused
        rt.run("start", "c2").ok();
        assertEquals("running", state(rt, "c2").get("status").string());
        RuntimeCli.Result again = rt.run("start", "c2");
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("running"), again.err());
        // delete of a running container needs --force and changes nothing
        RuntimeCli.Result refused = rt.run("delete", "c2");
        assertEquals(1, refused.exit());
        assertEquals("running", state(rt, "c2").get("status").string());

        rt.run("kill", "c2", "KILL").ok();
        for (int i = 0; i < 200 && !state(rt, "c2").get("status").string().equals("stopped"); i++) {
            Thread.sleep(10);
        }
        assertEquals("stopped", state(rt, "c2").get("status").string());
        RuntimeCli.Result killStopped = rt.run("kill", "c2", "TERM");
        assertEquals(1, killStopped.exit(), "kill of a stopped container is refused");
        rt.run("delete", "c2").ok();
        assertFalse(Files.exists(rt.root.resolve("c2")));
        assertEquals(1, rt.run("state", "c2").exit());
        assertTrue(rt.run("state", "c2").err().contains("does not exist"));
    }

    @Test
    void duplicateIdIsRefusedAndTheFirstIsUntouched() throws Exception {
        bundle.args("/bin/sleep", "60").write();
        rt.run("create", "--bundle", bundle.dir.toString(), "dup").ok();
        int pid = state(rt, "dup").get("pid").intValue();
        RuntimeCli.Result r = rt.run("create", "--bundle", bundle.dir.toString(), "dup");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("already exists"), r.err());
        assertEquals(pid, state(rt, "dup").get("pid").intValue());
        assertEquals("created", state(rt, "dup").get("status").string());
    }

    @Test
    void listShowsContainersInJson() throws Exception {
        bundle.args("/bin/sleep", "60").write();
        rt.run("create", "--bundle", bundle.dir.toString(), "l1").ok();
        String json = rt.run("list", "--format", "json").ok().out();
        JsonNode list = JsonNode.parse("list", json);
        assertEquals("l1", list.elements().getFirst().get("id").string());
        assertEquals("created", list.elements().getFirst().get("status").string());
    }

    @Test
    void execRunsInTheContainerAndReturnsItsStatus() throws Exception {
        bundle.args("/bin/sleep", "60").edit(s -> s.put("hostname", "box")).write();
        rt.run("create", "--bundle", bundle.dir.toString(), "e1").ok();
        rt.run("start", "e1").ok();
        RuntimeCli.Result r = rt.run("exec", "e1", "/bin/sh", "-c", "hostname; echo $$; exit 7");
        assertEquals(7, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("box", lines.get(0));
        assertTrue(Integer.parseInt(lines.get(1)) > 1, "exec'd process is in the container's pid namespace");
        RuntimeCli.Result cwd = rt.run("exec", "--cwd", "/tmp", "--env", "FOO=bar", "e1", "/bin/sh", "-c", "pwd; echo $FOO");
        assertEquals("/tmp\nbar\n", cwd.ok().out());
        RuntimeCli.Result missing = rt.run("exec", "e1", "/no/such/program");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("/no/such/program"), missing.err());
    }

    @Test
    void invalidConfigNamesTheFieldAndLeavesNothing() throws Exception {
        bundle.args("/bin/true").edit(s -> Bundle.map(s, "linux").put("uidMappings",
                List.of(Map.of("containerID", 0, "hostID", 1000, "size", 0)))).write();
        RuntimeCli.Result r = rt.run("create", "--bundle", bundle.dir.toString(), "bad");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("linux.uidMappings[0].size must be > 0"), r.err());
        assertFalse(Files.exists(rt.root.resolve("bad")));
    }

    @Test
    void aDamagedStateIsReportedAndForceDeleteCleansUp() throws Exception {
        bundle.args("/bin/sleep", "60").write();
        rt.run("create", "--bundle", bundle.dir.toString(), "dmg").ok();
        int pid = state(rt, "dmg").get("pid").intValue();
        Files.writeString(rt.root.resolve("dmg/state.json"), "{\"id\": ");
        RuntimeCli.Result st = rt.run("state", "dmg");
        assertEquals(1, st.exit());
        assertTrue(st.err().contains("damaged state file"), st.err());
        rt.run("delete", "--force", "dmg").ok();
        assertFalse(Files.exists(rt.root.resolve("dmg")));
        for (int i = 0; i < 200 && Files.exists(Path.of("/proc/" + pid)) && !Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z"); i++) {
            Thread.sleep(10);
        }
        assertTrue(!Files.exists(Path.of("/proc/" + pid)) || Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z"),
                "the container's process was killed through its cgroup");
        assertFalse(Files.exists(Path.of("/sys/fs/cgroup/memory/vessel/dmg")), "its cgroup is gone");
    }
}
