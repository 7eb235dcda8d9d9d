package io.vessel.runtime.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fast path of {@code vessel-runtime}: the C front end (build/vessel-runtime) and the warm
 * runtime service it starts. Each test has a service directory of its own
 * (VESSEL_RUNTIME_SERVICE_DIR), so it starts, finds and kills only its own service.
 */
class RuntimeServiceTest {
    private Path tmp;
    private Path serviceDir;
    private Path root;
    private final List<Process> started = new ArrayList<>();
    private final List<String> containers = new ArrayList<>();

    static Path client() {
        return Bundle.repo().resolve("build/vessel-runtime");
    }

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(Files.isExecutable(client()), "build/vessel-runtime is not built: run make build");
        tmp = Files.createTempDirectory("vessel-service-test");
        serviceDir = tmp.resolve("service");
        root = tmp.resolve("root");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (String id : containers) {
            cli(Map.of(), null, "--root", root.toString(), "delete", "--force", id);
        }
        for (Process p : started) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        for (int pid : servicePids()) {
            kill(pid, "KILL");
        }
        Bundle.sh("rm", "-rf", tmp.toString());
    }

    record Result(int exit, String out, String err) {
    }

    private ProcessBuilder builder(Map<String, String> env, Path cwd, String... args) {
        List<String> cmd = new ArrayList<>(List.of(client().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("VESSEL_RUNTIME_SERVICE_DIR", serviceDir.toString());
        pb.environment().put("VESSEL_RUNTIME_IDLE", "120");
        pb.environment().putAll(env);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        return pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }

    /** Runs the client to its end (at most 60 s), output through files as the runtime's CLI tests do. */
    private Result cli(Map<String, String> env, Path cwd, String... args) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        Process p = builder(env, cwd, args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("vessel-runtime " + String.join(" ", args) + " did not finish in 60 s");
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** The pids of services started for this test's directory (exactly: by their socket's path). */
    private List<Integer> servicePids() throws IOException {
        List<Integer> out = new ArrayList<>();
        if (serviceDir == null) {
            return out;
        }
        String mark = "VESSEL_RUNTIME_SERVE=" + serviceDir + "/";
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String env = new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.UTF_8);
                    for (String e : env.split("\0")) {
                        if (e.startsWith(mark)) {
                            out.add(Integer.parseInt(name));
                        }
                    }
                } catch (IOException ignored) {
                    // gone meanwhile
                }
            }
        }
        return out;
    }

    private static void kill(int pid, String sig) throws Exception {
        new ProcessBuilder("kill", "-" + sig, Integer.toString(pid)).start().waitFor();
    }

    private Path bundle(String... args) throws Exception {
        Bundle b = Bundle.create(tmp);
        b.args(args);
        Bundle.map(b.spec, "linux").remove("resources"); // the defaults' limits are beside the point here
        return b.write();
    }

    private static void waitUntil(String what, java.util.function.BooleanSupplier c) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void startsOnDemandAndRunsTheCommandWithTheCallersCwdAndStdio() throws Exception {
        Path b = bundle("/bin/echo", "hello from the service");
        Result r = cli(Map.of(), b.getParent(), "--root", root.toString(), "run", "--bundle", "bundle", "c1");
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello from the service\n", r.out(), "the container wrote to the caller's stdout");
        assertEquals(1, servicePids().size(), "one service was started");
        assertTrue(Files.exists(serviceDir), "the service directory was made");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(serviceDir)));
        // the caller's exit status comes back
        Path fails = tmp.resolve("fails");
        Files.createDirectories(fails);
        Bundle.sh("cp", "-a", b.toString(), fails.resolve("bundle").toString());
        String config = Files.readString(fails.resolve("bundle/config.json")).replace("\"/bin/echo\"", "\"/bin/sh\"")
                .replace("\"hello from the service\"", "\"-c\", \"exit 7\"");
        Files.writeString(fails.resolve("bundle/config.json"), config);
        Result seven = cli(Map.of(), fails, "--root", root.toString(), "run", "--bundle", "bundle", "c2");
        assertEquals(7, seven.exit(), seven.err());
        Result missing = cli(Map.of(), null, "--root", root.toString(), "state", "nothing-here");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("container \"nothing-here\" does not exist"), missing.err());
    }

    @Test
    void servesTwoRequestsAtOnce() throws Exception {
        // The first container waits until the second has run: both requests are in the service at once.
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Bundle a = Bundle.create(Files.createDirectories(tmp.resolve("a")));
        a.args("/bin/sh", "-c", "while [ ! -e /shared/second-ran ]; do sleep 0.05; done; echo first");
        Bundle.list(a.spec, "mounts").add(Map.of("destination", "/shared", "type", "bind", "source",
                shared.toString(), "options", List.of("rbind", "rw")));
        Bundle.map(a.spec, "linux").remove("resources");
        a.write();
        Bundle second = Bundle.create(Files.createDirectories(tmp.resolve("b")));
        second.args("/bin/sh", "-c", "touch /shared/second-ran; echo second");
        Bundle.list(second.spec, "mounts").add(Map.of("destination", "/shared", "type", "bind", "source",
                shared.toString(), "options", List.of("rbind", "rw")));
        Bundle.map(second.spec, "linux").remove("resources");
        second.write();
        Path outA = tmp.resolve("a.out");
        Process first = builder(Map.of(), null, "--root", root.toString(), "run", "--bundle", a.dir.toString(), "first")
                .redirectOutput(outA.toFile()).redirectError(tmp.resolve("a.err").toFile()).start();
        started.add(first);
        containers.add("first");
        waitUntil("the first container runs", () -> Files.isDirectory(root.resolve("first")));
        Result r = cli(Map.of(), null, "--root", root.toString(), "run", "--bundle", second.dir.toString(), "second");
        assertEquals(0, r.exit(), r.err());
        assertEquals("second\n", r.out());
        assertTrue(first.waitFor(30, TimeUnit.SECONDS), "the first request ended once the second had run");
        assertEquals(0, first.exitValue(), Files.readString(tmp.resolve("a.err")));
        assertEquals("first\n", Files.readString(outA));
        assertEquals(1, servicePids().size(), "both requests went to one service");
    }

    @Test
    void relaysSignalsToAForegroundContainer() throws Exception {
        Path b = bundle("/bin/sh", "-c", "trap 'echo got TERM; exit 3' TERM; while true; do sleep 0.1; done");
        Path out = tmp.resolve("sig.out");
        Process p = builder(Map.of(), null, "--root", root.toString(), "run", "--bundle", b.toString(), "sig")
                .redirectOutput(out.toFile()).redirectError(tmp.resolve("sig.err").toFile()).start();
        started.add(p);
        containers.add("sig");
        waitUntil("the container runs", () -> {
            try {
                return cli(Map.of(), null, "--root", root.toString(), "state", "sig").out().contains("\"running\"");
            } catch (Exception e) {
                return false;
            }
        });
        Thread.sleep(300); // the shell has set its trap
        kill((int) p.pid(), "TERM");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(3, p.exitValue(), "the container's status is the client's: " + Files.readString(tmp.resolve("sig.err")));
        assertEquals("got TERM\n", Files.readString(out));
        assertFalse(Files.exists(root.resolve("sig")), "run removed the container");
    }

    @Test
    void aServiceKilledMidRequestFailsOnlyThatRequestAndTheNextCallStartsAnother() throws Exception {
        Path b = bundle("/bin/sleep", "60");
        Path err = tmp.resolve("killed.err");
        Process p = builder(Map.of(), null, "--root", root.toString(), "run", "--bundle", b.toString(), "victim")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        started.add(p);
        containers.add("victim");
        waitUntil("the container runs", () -> Files.exists(root.resolve("victim/state.json")));
        List<Integer> services = servicePids();
        assertEquals(1, services.size());
        kill(services.getFirst(), "KILL");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the client in flight ended with its service");
        assertNotEquals(0, p.exitValue());
        assertTrue(Files.readString(err).contains("the runtime service ended during the command"), Files.readString(err));
        Result next = cli(Map.of(), null, "--root", root.toString(), "state", "victim");
        assertEquals(0, next.exit(), next.err());
        assertTrue(next.out().contains("\"victim\""), next.out());
        List<Integer> now = servicePids();
        assertEquals(1, now.size());
        assertNotEquals(services.getFirst(), now.getFirst(), "a new service runs");
        assertEquals(0, cli(Map.of(), null, "--root", root.toString(), "delete", "--force", "victim").exit());
    }

    @Test
    void exitsWhenIdleAndRemovesItsSocket() throws Exception {
        Result r = cli(Map.of("VESSEL_RUNTIME_IDLE", "1"), null, "--version");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("vessel-runtime version"), r.out());
        assertEquals(1, servicePids().size());
        waitUntil("the idle service exits", () -> {
            try {
                return servicePids().isEmpty();
            } catch (IOException e) {
                return false;
            }
        });
        try (var files = Files.list(serviceDir)) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".sock")), "the socket went with the service");
        }
        assertEquals(0, cli(Map.of(), null, "--version").exit(), "the next call starts a new one");
    }

    @Test
    void refusesAnotherUid() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")) && Files.isExecutable(Path.of("/usr/bin/python3")),
                "needs setpriv and /usr/bin/python3 to connect as another user");
        assertEquals(0, cli(Map.of(), null, "--version").exit());
        Path socket;
        try (var files = Files.list(serviceDir)) {
            socket = files.filter(f -> f.toString().endsWith(".sock")).findFirst().orElseThrow();
        }
        // Open the way (as a careless administrator might): the service itself must still refuse.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(serviceDir, PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        String probe = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.connect(sys.argv[1])
                print(s.recv(4096).decode())
                print("closed" if s.recv(4096) == b"" else "open")
                """;
        Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "/usr/bin/python3", "-c", probe, socket.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(out.contains("refused this runtime service serves uid 0 only, not uid 65534"), out);
        assertTrue(out.contains("closed"), out);
        // and a client does not use a service directory others can enter: it runs the command itself
        Result r = cli(Map.of(), null, "--version");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("must be a directory of uid 0 with mode 0700"), r.err());
        assertTrue(r.out().startsWith("vessel-runtime version"), r.out());
    }
}
