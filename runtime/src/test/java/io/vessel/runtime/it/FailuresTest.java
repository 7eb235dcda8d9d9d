package io.vessel.runtime.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A create that fails, at any stage, says what is wrong and leaves nothing: no state, no cgroup,
 * no process, no mount. (Hook and seccomp failures: see HooksTest and SeccompTest.)
 */
class FailuresTest extends FeatureSupport {

    void assertFailsCleanly(Consumer<FailuresTest> configure, String... expected) throws Exception {
        configure.accept(this);
        Leftovers before = Leftovers.before(tmp);
        for (String cmd : List.of("run", "create")) {
            bundle.write();
            RuntimeCli.Result r = rt.run(cmd, "--bundle", bundle.dir.toString(), id);
            assertEquals(1, r.exit(), cmd + ": " + r.out() + r.err());
            for (String e : expected) {
                assertTrue(r.err().contains(e), cmd + ": the error should name " + e + ": " + r.err());
            }
            before.assertNothingLeft(rt, id);
        }
    }

    @Test
    void badBindSource() throws Exception {
        assertFailsCleanly(t -> t.mounts().add(mount("/data", null, "/no/such/source", "bind")), "/no/such/source");
    }

    @Test
    void missingProgram() throws Exception {
        assertFailsCleanly(t -> t.bundle.args("/no/such/program"), "/no/such/program");
    }

    @Test
    void programNotInPath() throws Exception {
        assertFailsCleanly(t -> t.bundle.args("no-such-program"), "no-such-program", "$PATH");
    }

    @Test
    void missingRootfs() throws Exception {
        assertFailsCleanly(t -> t.bundle.spec.put("root", obj("path", "no-rootfs")), "no-rootfs");
    }

    @Test
    void missingCwd() throws Exception {
        assertFailsCleanly(t -> t.process().put("cwd", "/no/such/dir"), "/no/such/dir");
    }

    @Test
    void badSysctlValue() throws Exception {
        assertFailsCleanly(t -> t.linux().put("sysctl", obj("kernel.shmmax", "not-a-number")), "shmmax");
    }

    @Test
    void unknownFileSystemType() throws Exception {
        assertFailsCleanly(t -> t.mounts().add(mount("/x", "nosuchfs", "none")), "nosuchfs", "/x");
    }

    @Test
    void joinMissingNamespace() throws Exception {
        assertFailsCleanly(t -> t.addNamespace("network", "/run/netns/vessel-no-such-ns"), "vessel-no-such-ns");
    }

    @Test
    void userNamespaceWithAnImpossibleMapping() throws Exception {
        assertFailsCleanly(t -> {
            t.addNamespace("user", null);
            // two overlapping ranges: the kernel refuses the map
            t.linux().put("uidMappings", List.of(obj("containerID", 0, "hostID", 100000, "size", 10),
                    obj("containerID", 5, "hostID", 200000, "size", 10)));
            t.linux().put("gidMappings", List.of(obj("containerID", 0, "hostID", 100000, "size", 10)));
        }, "uid_map");
    }

    @Test
    void aProgramTheKernelCannotExecIsReportedAfterStart() throws Exception {
        Files.writeString(bundle.rootfs().resolve("bin/not-a-program"), "garbage\n");
        Files.setPosixFilePermissions(bundle.rootfs().resolve("bin/not-a-program"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        bundle.args("/bin/not-a-program").write();
        Leftovers before = Leftovers.before(tmp);
        RuntimeCli.Result r = rt.run("run", "--bundle", bundle.dir.toString(), id);
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("/bin/not-a-program") && r.err().contains("Exec format error"), r.err());
        before.assertNothingLeft(rt, id);
    }

    @Test
    void mountOverASymlinkOutOfTheRoot() throws Exception {
        // a symlink in the rootfs pointing at a host path: the mount lands inside the root, or create fails
        java.nio.file.Path hostTarget = Files.createDirectories(tmp.resolve("host-target"));
        Files.createSymbolicLink(bundle.rootfs().resolve("evil"), hostTarget);
        mounts().add(mount("/evil", "tmpfs", "tmpfs", "size=1m"));
        Leftovers before = Leftovers.before(tmp);
        RuntimeCli.Result r = run("echo inside > /evil/file && echo wrote");
        assertEquals(List.of(), hostMountsUnder(hostTarget));
        assertTrue(!Files.exists(hostTarget.resolve("file")), "the container wrote to the host");
        if (r.exit() != 0) {
            assertTrue(r.err().contains("/evil"), r.err());
        }
        before.assertNothingLeft(rt, id);
    }
}
