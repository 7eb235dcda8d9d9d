package io.vessel.runtime.it;

import org.junit.jupiter.api.Test;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The known runc escapes, tried for real: CVE-2019-5736 (overwriting the runtime binary) and CVE-2024-21626 (leaked fds). */
class EscapesTest extends FeatureSupport {

    static Path launcherBinary() {
        return Bundle.repo().resolve("build/vessel-launch");
    }

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    /** The caps of the default spec plus CAP_SYS_PTRACE: the worst case for /proc/PID/exe. */
    void withPtrace() {
        List<String> caps = List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_PTRACE",
                "CAP_DAC_OVERRIDE");
        process().put("capabilities", obj("bounding", caps, "effective", caps, "permitted", caps));
    }

    @Test
    void createdInitRunsFromASealedMemfdThatNobodyCanWrite() throws Exception {
        String before = sha256(launcherBinary());
        int pid = create("/bin/sleep", "60");
        Path exe = Path.of("/proc/" + pid + "/exe");
        assertEquals("/memfd:vessel-launch (deleted)", Files.readSymbolicLink(exe).toString());
        assertEquals(before, sha256(exe), "the memfd is a copy of the launcher");
        // not even host root can write through it
        assertThrows(IOException.class, () -> {
            try (FileOutputStream out = new FileOutputStream(exe.toFile(), true)) {
                out.write("#!/bin/sh\necho pwned\n".getBytes());
            }
        });
        assertEquals(before, sha256(launcherBinary()));
    }

    @Test
    void fromInsideACreatedContainerTheLaunchersExeCannotBeWritten() throws Exception {
        withPtrace();
        String before = sha256(launcherBinary());
        create("/bin/sleep", "60");
        // exec into the created container: pid 1 is the launcher, waiting for start
        RuntimeCli.Result r = rt.run("exec", id, "/bin/sh", "-c", """
                echo exe=$(readlink /proc/1/exe)
                (echo x > /proc/1/exe) && echo WROTE-SHELL
                (exec 5<>/proc/1/exe) && echo OPENED-RW
                (exec 6</proc/1/exe; echo x > /proc/self/fd/6) && echo WROTE-REOPEN
                for f in /proc/1/fd/* /proc/1/cwd /proc/1/root; do
                  [ -d $f ] && ls -a $f/ | grep -q -e state.json -e bundle -e work && echo HOST-DIR $f
                  (cd $f/../../.. 2>/dev/null && ls -a | grep -q -e work -e bundle && echo HOST-DIR-UP $f)
                done
                true
                """);
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.out().contains("WROTE") || r.out().contains("OPENED-RW"), r.out() + r.err());
        assertFalse(r.out().contains("HOST-DIR"), "a host directory is reachable through the waiting init: " + r.out());
        assertTrue(r.out().contains("exe=/memfd:vessel-launch"), "the attack saw the launcher: " + r.out());
        assertTrue(r.err().contains("/proc/1/exe"), "the writes were tried and refused: " + r.err());
        assertEquals(before, sha256(launcherBinary()));
        rt.run("start", id).ok();
        assertEquals(before, sha256(launcherBinary()));
    }

    @Test
    void racingExecsFromInsideCannotWriteTheLauncher() throws Exception {
        withPtrace();
        String before = sha256(launcherBinary());
        // the container hunts for launcher processes (exec'd ones appear in its pid namespace) and attacks them
        createStarted("/bin/sh", "-c", """
                while true; do
                  for e in /proc/[0-9]*/exe; do
                    case "$(readlink $e 2>/dev/null)" in
                      *vessel*|*memfd*) echo "found $e" >> /tmp/found
                        (echo x > $e) 2>> /tmp/found && echo WROTE >> /tmp/found
                        (exec 7<$e; echo x > /proc/self/fd/7) 2>> /tmp/found && echo WROTE-FD >> /tmp/found;;
                    esac
                  done
                done
                """);
        for (int i = 0; i < 15; i++) {
            rt.run("exec", id, "/bin/true").ok();
        }
        Path found = bundle.rootfs().resolve("tmp/found");
        String log = Files.exists(found) ? Files.readString(found) : "";
        assertFalse(log.contains("WROTE"), log);
        assertEquals(before, sha256(launcherBinary()));
    }

    @Test
    void aCreatedInitIsNotDumpable() throws Exception {
        userNamespace();
        int pid = create("/bin/sleep", "60");
        assertTrue(procStatus(pid).get("Uid").startsWith("100000"));
        // a non-dumpable process's /proc files belong to root, not to its own (container) user
        assertEquals(0, Files.getAttribute(Path.of("/proc/" + pid + "/environ"), "unix:uid"));
        rt.run("start", id).ok();
        waitFor(() -> Files.readSymbolicLink(Path.of("/proc/" + pid + "/exe")).toString().endsWith("busybox"));
        assertEquals(100000, Files.getAttribute(Path.of("/proc/" + pid + "/environ"), "unix:uid"),
                "after exec the user's program is dumpable again");
    }

    @Test
    void cwdThroughLeakedDescriptorsNeverLeavesTheRoot() throws Exception {
        List<String> problems = new ArrayList<>();
        for (int n = 3; n <= 10; n++) {
            process().put("cwd", "/proc/self/fd/" + n);
            RuntimeCli.Result r = run("touch escaped-" + n + " 2>/dev/null; echo cwd=$(readlink /proc/self/cwd); ls");
            if (r.exit() == 0) {
                String cwd = r.out().lines().filter(l -> l.startsWith("cwd=")).findFirst().orElse("cwd=");
                if (!cwd.startsWith("cwd=/") || cwd.contains("unreachable")) {
                    problems.add(n + ": ran in " + cwd + "\n" + r.out());
                }
            } else if (!r.err().contains("cwd") && !r.err().contains("chdir")) {
                problems.add(n + ": failed without naming the cwd: " + r.err());
            }
        }
        assertEquals(List.of(), problems);
        try (Stream<Path> s = Files.walk(tmp)) {
            List<Path> escaped = s.filter(p -> p.getFileName().toString().startsWith("escaped-"))
                    .filter(p -> !p.startsWith(bundle.rootfs())).toList();
            assertEquals(List.of(), escaped, "files written outside the container's root");
        }
    }

    @Test
    void execCwdThroughLeakedDescriptorsNeverLeavesTheRoot() throws Exception {
        createStarted("/bin/sleep", "60");
        List<String> problems = new ArrayList<>();
        for (int n = 3; n <= 10; n++) {
            RuntimeCli.Result r = rt.run("exec", "--cwd", "/proc/self/fd/" + n, id, "/bin/sh", "-c",
                    "touch escaped-" + n + " 2>/dev/null; echo cwd=$(readlink /proc/self/cwd)");
            if (r.exit() == 0) {
                String cwd = r.out().trim();
                if (!cwd.startsWith("cwd=/") || cwd.contains("unreachable")) {
                    problems.add(n + ": ran in " + cwd);
                }
            }
        }
        assertEquals(List.of(), problems);
        try (Stream<Path> s = Files.walk(tmp)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith("escaped-"))
                    .filter(p -> !p.startsWith(bundle.rootfs())).toList());
        }
    }

    static List<String> fdsOf(Object pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theContainerGetsOnlyItsStdioAndPreservedDescriptors() throws Exception {
        int pid = createStarted("/bin/sleep", "60");
        assertEquals(List.of("0", "1", "2"), fdsOf(pid), "the init holds nothing of the runtime's");
        // ls run directly by exec: its descriptors are stdio and 3, the directory it is reading
        assertEquals("0\n1\n2\n3\n", rt.run("exec", id, "/bin/ls", "/proc/self/fd").ok().out(),
                "the exec'd process holds nothing of the runtime's");
        rt.run("exec", "-d", "--pid-file", tmp.resolve("exec.pid").toString(), id, "/bin/sleep", "60").ok();
        int execPid = Integer.parseInt(Files.readString(tmp.resolve("exec.pid")).trim());
        assertEquals(List.of("0", "1", "2"), fdsOf(execPid));
        for (Object p : List.of(pid, execPid)) {
            for (String fd : fdsOf(p)) {
                Path target = Path.of("/proc/" + p + "/fd/" + fd);
                assertFalse(Files.isDirectory(target), p + " holds a directory at fd " + fd);
            }
        }
    }

    @Test
    void preservedDescriptorsAreTheOnlyExtraOnes() throws Exception {
        // the shell tests its own descriptors with its builtin [: a child listing /proc/$$/fd (as ls in a
        // pipeline) can catch the shell holding the pipeline's own pipe, and saw one vanish once
        bundle.args("/bin/sh", "-c", "for n in 0 1 2 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$n ] && printf '%s ' $n; done; "
                + "cat <&3; cat <&4").write();
        Files.writeString(tmp.resolve("three"), "fd three\n");
        Files.writeString(tmp.resolve("four"), "fd four\n");
        String cmd = "exec 3<" + tmp.resolve("three") + " 4<" + tmp.resolve("four") + "; exec "
                + RuntimeCli.script() + " --root " + rt.root + " run --preserve-fds 2 --bundle " + bundle.dir + " " + id;
        Process p = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.startsWith("0 1 2 3 4 fd three"), "descriptors 0-4 and no other: " + out);
        assertTrue(out.contains("fd three\nfd four\n"), out);
    }
}
