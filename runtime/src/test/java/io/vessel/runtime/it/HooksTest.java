package io.vessel.runtime.it;

import io.vessel.json.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The six hooks: when they run, where (whose namespaces), with which state on stdin; failures and timeouts. */
class HooksTest extends FeatureSupport {

    /** A hook script writing its stdin and where it ran to DIR/NAME.json and DIR/NAME.where. */
    static final String RECORDER = """
            #!/bin/sh
            cat > "$1/$2.json"
            echo "mnt=$(readlink /proc/self/ns/mnt) uts=$(readlink /proc/self/ns/uts) host=$(cat /proc/sys/kernel/hostname) arg=$3 env=$HOOKVAR" > "$1/$2.where"
            """;

    Path script(Path dir, String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    static Map<String, Object> hook(String path, List<String> args, Integer timeout) {
        Map<String, Object> h = obj("path", path, "args", args, "env", List.of("HOOKVAR=set", "PATH=/usr/bin:/bin"));
        if (timeout != null) {
            h.put("timeout", timeout);
        }
        return h;
    }

    @Test
    void everyHookRunsWithTheStateInTheRightNamespaces() throws Exception {
        Path markers = Files.createDirectories(tmp.resolve("markers"));
        Path rec = script(tmp, "record.sh", RECORDER);
        // startContainer runs in the container after pivot_root: its path is in the container
        script(Files.createDirectories(bundle.rootfs().resolve("hooks")), "record.sh", RECORDER);
        mounts().add(mount("/markers", null, markers.toString(), "bind"));
        bundle.spec.put("hostname", "hooked");
        String m = markers.toString();
        bundle.spec.put("hooks", obj(
                "prestart", List.of(hook(rec.toString(), List.of("record", m, "prestart", "a1"), null)),
                "createRuntime", List.of(hook(rec.toString(), List.of("record", m, "createRuntime", "a2"), 10)),
                "createContainer", List.of(hook(rec.toString(), List.of("record", m, "createContainer", "a3"), 10)),
                "startContainer", List.of(hook("/hooks/record.sh", List.of("record", "/markers", "startContainer", "a4"),
                        10)),
                "poststart", List.of(hook(rec.toString(), List.of("record", m, "poststart", "a5"), null)),
                "poststop", List.of(hook(rec.toString(), List.of("record", m, "poststop", "a6"), null))));
        int pid = create("/bin/sleep", "60");
        for (String h : List.of("prestart", "createRuntime", "createContainer")) {
            assertTrue(Files.exists(markers.resolve(h + ".json")), h + " ran during create");
        }
        assertFalse(Files.exists(markers.resolve("startContainer.json")));
        rt.run("start", id).ok();
        assertTrue(Files.exists(markers.resolve("startContainer.json")));
        assertTrue(Files.exists(markers.resolve("poststart.json")));
        assertFalse(Files.exists(markers.resolve("poststop.json")));
        rt.run("kill", id, "KILL").ok();
        waitStopped(id);
        rt.run("delete", id).ok();
        assertTrue(Files.exists(markers.resolve("poststop.json")));

        String hostMnt = nsLink("self", "mnt");
        String hostUts = nsLink("self", "uts");
        Map<String, String> expectStatus = Map.of("prestart", "creating", "createRuntime", "creating",
                "poststart", "running", "poststop", "stopped");
        int n = 1;
        for (String h : List.of("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")) {
            JsonNode st = JsonNode.parse(h, Files.readString(markers.resolve(h + ".json")));
            assertEquals(id, st.get("id").string(), h);
            assertEquals(bundle.dir.toString(), st.get("bundle").string(), h);
            assertTrue(st.get("ociVersion").string().startsWith("1."), h);
            if (expectStatus.containsKey(h)) {
                assertEquals(expectStatus.get(h), st.get("status").string(), h);
            } else {
                assertTrue(List.of("creating", "created").contains(st.get("status").string()), h + ": " + st);
            }
            if (!h.equals("poststop")) {
                assertEquals(pid, st.get("pid").intValue(), h);
            }
            String where = Files.readString(markers.resolve(h + ".where"));
            assertTrue(where.contains("arg=a" + n++) && where.contains("env=set"), h + ": " + where);
            boolean inContainer = h.equals("createContainer") || h.equals("startContainer");
            if (inContainer) {
                assertTrue(where.contains("host=hooked"), h + " runs in the container's uts namespace: " + where);
                assertFalse(where.contains(hostMnt), h + " runs in the container's mount namespace: " + where);
            } else {
                assertTrue(where.contains(hostMnt) && where.contains(hostUts), h + " runs in the runtime's namespaces: "
                        + where);
            }
        }
    }

    @Test
    void aFailingCreateRuntimeHookFailsCreateAndLeavesNothing() throws Exception {
        Path fail = script(tmp, "fail.sh", "#!/bin/sh\necho hook-says-no >&2\nexit 3\n");
        bundle.spec.put("hooks", obj("createRuntime", List.of(hook(fail.toString(), List.of("fail"), null))));
        Leftovers before = Leftovers.before(tmp);
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains(fail.toString()) && r.err().contains("3"), r.err());
        before.assertNothingLeft(rt, id);
    }

    @Test
    void aFailingCreateContainerHookFailsCreateAndLeavesNothing() throws Exception {
        Path fail = script(tmp, "fail.sh", "#!/bin/sh\nexit 4\n");
        bundle.spec.put("hooks", obj("createContainer", List.of(hook(fail.toString(), List.of("fail"), null))));
        Leftovers before = Leftovers.before(tmp);
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains(fail.toString()) && r.err().contains("4"), r.err());
        before.assertNothingLeft(rt, id);
    }

    @Test
    void hooksThatOutliveTheirTimeoutAreKilledAndReported() throws Exception {
        for (String phase : List.of("prestart", "createContainer")) {
            String marker = "31." + (phase.length());
            Path slow = script(tmp, phase + "-slow.sh", "#!/bin/sh\nexec sleep " + marker + "\n");
            bundle.spec.put("hooks", obj(phase, List.of(hook(slow.toString(), List.of("slow"), 1))));
            Leftovers before = Leftovers.before(tmp);
            long t0 = System.nanoTime();
            RuntimeCli.Result r = run("true");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(1, r.exit(), phase);
            assertTrue(r.err().contains("timed out") && r.err().contains(slow.toString()), phase + ": " + r.err());
            assertTrue(ms < 10_000, phase + " took " + ms + " ms");
            before.assertNothingLeft(rt, id);
            for (int pid : Leftovers.pids()) {
                String cmd;
                try {
                    cmd = Files.readString(Path.of("/proc/" + pid + "/cmdline"));
                } catch (Exception e) {
                    continue;
                }
                assertNotEquals("sleep\0" + marker + "\0", cmd, phase + ": the timed-out hook still runs as " + pid);
            }
        }
    }

    @Test
    void aFailingPoststartHookIsReportedButTheContainerRuns() throws Exception {
        Path fail = script(tmp, "fail.sh", "#!/bin/sh\nexit 5\n");
        bundle.spec.put("hooks", obj("poststart", List.of(hook(fail.toString(), List.of("fail"), null))));
        create("/bin/sleep", "60");
        RuntimeCli.Result r = rt.run("start", id);
        assertTrue(r.err().contains(fail.toString()), r.err());
        assertEquals("running", state(id).get("status").string());
    }
}
