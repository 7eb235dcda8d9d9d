package io.vessel.runtime.it;

import io.vessel.json.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What the feature tests share: a bundle, a runtime with its own --root, a container id no other
 * test (nor another run on this host) uses, and cleanup of whatever a test made on the host.
 */
abstract class FeatureSupport {
    private static final AtomicInteger SEQ = new AtomicInteger();

    @TempDir
    Path tmp;
    RuntimeCli rt;
    Bundle bundle;
    /** This test's container id: unique on the host, as cgroups are shared with other runs. */
    String id;
    /** Undo steps for host changes (netns, mounts...), run last first. */
    final List<ThrowingRunnable> cleanups = new ArrayList<>();

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @BeforeEach
    void setUpFeature() throws Exception {
        Root.assume();
        rt = new RuntimeCli(tmp.resolve("state"));
        bundle = Bundle.create(tmp);
        id = "ft" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
    }

    @AfterEach
    void tearDownFeature() throws Exception {
        try {
            if (rt != null) {
                for (String c : rt.run("list", "-q").out().lines().toList()) {
                    rt.run("delete", "--force", c);
                }
            }
        } finally {
            List<ThrowingRunnable> undo = new ArrayList<>(cleanups);
            Collections.reverse(undo);
            Exception first = null;
            for (ThrowingRunnable r : undo) {
                try {
                    r.run();
                } catch (Exception e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    // ------------------------------------------------------------ config editing

    Map<String, Object> process() {
        return Bundle.map(bundle.spec, "process");
    }

    Map<String, Object> linux() {
        return Bundle.map(bundle.spec, "linux");
    }

    @SuppressWarnings("unchecked")
    List<Object> mounts() {
        List<Object> m = new ArrayList<>((List<Object>) bundle.spec.get("mounts"));
        bundle.spec.put("mounts", m);
        return m;
    }

    @SuppressWarnings("unchecked")
    List<Object> namespaces() {
        List<Object> ns = new ArrayList<>((List<Object>) linux().get("namespaces"));
        linux().put("namespaces", ns);
        return ns;
    }

    void addNamespace(String type, String path) {
        Map<String, Object> ns = new LinkedHashMap<>();
        ns.put("type", type);
        if (path != null) {
            ns.put("path", path);
        }
        namespaces().removeIf(o -> ((Map<?, ?>) o).get("type").equals(type));
        namespaces().add(ns);
    }

    /**
     * A user namespace mapping container ids 0..65535 to host 100000..: the rootfs is given to
     * host 100000, and the test directory opened to others so that container root can reach it.
     */
    void userNamespace() throws Exception {
        host("chown", "-R", "100000:100000", bundle.rootfs().toString());
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        addNamespace("user", null);
        List<Object> map = List.of(obj("containerID", 0, "hostID", 100000, "size", 65536));
        linux().put("uidMappings", map);
        linux().put("gidMappings", map);
    }

    void removeNamespace(String type) {
        namespaces().removeIf(o -> ((Map<?, ?>) o).get("type").equals(type));
    }

    static Map<String, Object> mount(String dest, String type, String source, String... options) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("destination", dest);
        if (type != null) {
            m.put("type", type);
        }
        if (source != null) {
            m.put("source", source);
        }
        m.put("options", List.of(options));
        return m;
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    // ------------------------------------------------------------ running containers

    /** Runs {@code script} with /bin/sh -c in a container of the bundle; returns the result. */
    RuntimeCli.Result run(String script) throws Exception {
        bundle.args("/bin/sh", "-c", script).write();
        return rt.run("run", "--bundle", bundle.dir.toString(), id);
    }

    /** Runs {@code script}, which must succeed; returns its standard output. */
    String runOk(String script) throws Exception {
        RuntimeCli.Result r = run(script);
        assertEquals(0, r.exit(), "container failed\nstdout: " + r.out() + "\nstderr: " + r.err());
        return r.out();
    }

    /** Creates the container with {@code args} (not started); returns the init's pid. */
    int create(String... args) throws Exception {
        bundle.args(args).write();
        rt.run("create", "--bundle", bundle.dir.toString(), id).ok();
        return state(id).get("pid").intValue();
    }

    /** Creates and starts the container; returns the init's pid. */
    int createStarted(String... args) throws Exception {
        int pid = create(args);
        rt.run("start", id).ok();
        return pid;
    }

    JsonNode state(String cid) throws Exception {
        return JsonNode.parse("state", rt.run("state", cid).ok().out());
    }

    /** Runs {@code sh -c script} in the running container; it must succeed. */
    String exec(String script) throws Exception {
        RuntimeCli.Result r = rt.run("exec", id, "/bin/sh", "-c", script);
        assertEquals(0, r.exit(), "exec failed\nstdout: " + r.out() + "\nstderr: " + r.err());
        return r.out();
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void waitFor(Check c) throws Exception {
        for (int i = 0; i < 500; i++) {
            if (c.ok()) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("condition not met in 5 s");
    }

    void waitStopped(String cid) throws Exception {
        for (int i = 0; i < 500; i++) {
            if (state(cid).get("status").string().equals("stopped")) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError(cid + " did not stop");
    }

    // ------------------------------------------------------------ the host side

    /** Runs a host command, which must succeed; returns its standard output. */
    static String host(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out);
        }
        return out;
    }

    /** Fields of /proc/PID/status (or of any "Name:\tvalue" text). */
    static Map<String, String> statusFields(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : text.lines().toList()) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                m.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return m;
    }

    static Map<String, String> procStatus(int pid) throws IOException {
        return statusFields(Files.readString(Path.of("/proc/" + pid + "/status")));
    }

    static String nsLink(Object pid, String ns) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + ns)).toString();
    }

    /** Lines of the host's /proc/self/mountinfo that mention {@code path}. */
    static List<String> hostMountsUnder(Path path) throws IOException {
        String p = path.toString();
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().filter(l -> l.contains(p)).toList();
    }
}
