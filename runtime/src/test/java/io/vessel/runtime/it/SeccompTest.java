package io.vessel.runtime.it;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** linux.seccomp enforced for real: in the init, in exec'd processes, with and without no_new_privs. */
class SeccompTest extends FeatureSupport {

    /** What busybox sh and the launcher's last steps need; anything else gets the default action. */
    static final List<String> ALLOWED = List.of("read", "write", "readv", "writev", "pread64", "pwrite64", "open",
            "openat", "openat2", "close", "close_range", "stat", "fstat", "lstat", "newfstatat", "statx", "poll", "ppoll",
            "lseek", "mmap", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
            "rt_sigsuspend", "sigaltstack", "ioctl", "access", "faccessat", "faccessat2", "pipe", "pipe2", "select",
            "pselect6", "sched_yield", "dup", "dup2", "dup3", "nanosleep", "clock_nanosleep", "getpid", "getppid",
            "gettid", "clone", "clone3", "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4",
            "waitid", "kill", "tgkill", "uname", "fcntl", "getdents64", "getcwd", "chdir", "fchdir", "readlink",
            "readlinkat", "umask", "getrlimit", "prlimit64", "getuid", "getgid", "geteuid", "getegid", "getgroups",
            "setuid", "setgid", "setresuid", "setresgid", "setgroups", "getresuid", "getresgid", "getpgrp",
            "getpgid", "setpgid", "setsid", "getsid", "capget", "capset", "prctl", "arch_prctl", "set_tid_address",
            "set_robust_list", "rseq", "futex", "clock_gettime", "gettimeofday", "time", "sysinfo", "getrandom",
            "madvise", "mremap", "sched_getaffinity", "getpriority", "alarm", "pause", "restart_syscall");

    Map<String, Object> profile(String defaultAction, Integer defaultErrno, List<Object> rules) {
        Map<String, Object> p = obj("defaultAction", defaultAction, "architectures", List.of("SCMP_ARCH_X86_64"),
                "syscalls", rules);
        if (defaultErrno != null) {
            p.put("defaultErrnoRet", defaultErrno);
        }
        return p;
    }

    @ParameterizedTest(name = "noNewPrivileges={0}")
    @ValueSource(booleans = {true, false})
    void denyOneSyscallWithErrno(boolean nnp) throws Exception {
        process().put("noNewPrivileges", nnp);
        linux().put("seccomp", profile("SCMP_ACT_ALLOW", null, List.of(
                obj("names", List.of("mkdir", "mkdirat"), "action", "SCMP_ACT_ERRNO", "errnoRet", 1))));
        int pid = createStarted("/bin/sleep", "60");
        Map<String, String> st = procStatus(pid);
        assertEquals("2", st.get("Seccomp"), "filter mode, seen from the host");
        assertEquals(nnp ? "1" : "0", st.get("NoNewPrivs"));
        RuntimeCli.Result r = rt.run("exec", id, "/bin/sh", "-c", "mkdir /tmp/x; echo status=$?; touch /tmp/y && echo touch-ok");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("status=1") && r.out().contains("touch-ok"), r.out());
        assertTrue(r.err().contains("Operation not permitted"), r.err());
        assertEquals("2\n", exec("grep ^Seccomp: /proc/self/status | awk '{print $2}'"),
                "the exec'd process has the container's filter");
    }

    /**
     * SCMP_ACT_NOTIFY: the listener goes to linux.seccomp.listenerPath with the container process
     * state, as the spec says; the agent here takes it and closes it, after which the notified
     * system call fails with ENOSYS inside the container (and nothing else is affected).
     */
    @ParameterizedTest(name = "noNewPrivileges={0}")
    @ValueSource(booleans = {true, false})
    void notifyHandsTheListenerToTheAgent(boolean nnp) throws Throwable {
        process().put("noNewPrivileges", nnp);
        java.nio.file.Path agentPath = tmp.resolve("agent.sock");
        try (ConsoleSocket agent = new ConsoleSocket(agentPath)) {
            Map<String, Object> p = profile("SCMP_ACT_ALLOW", null, List.of(
                    obj("names", List.of("mkdir", "mkdirat"), "action", "SCMP_ACT_NOTIFY")));
            p.put("listenerPath", agentPath.toString());
            p.put("listenerMetadata", "agent \"one\"");
            linux().put("seccomp", p);
            int pid = createStarted("/bin/sleep", "60");
            ConsoleSocket.Received got = agent.await();
            io.vessel.json.JsonNode msg = io.vessel.json.JsonNode.parse("listener message", got.text());
            assertEquals("1.2.0", msg.get("ociVersion").string());
            assertEquals(List.of("seccompFd"), msg.get("fds").stringList());
            assertEquals(pid, msg.get("pid").intValue(), "the init's pid as the runtime sees it");
            assertEquals("agent \"one\"", msg.get("metadata").string());
            assertEquals(id, msg.get("state").get("id").string());
            assertEquals("anon_inode:seccomp notify",
                    java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + got.fd())).toString());
            ConsoleSocket.close(got.fd()); // the agent lets go: notified calls now fail with ENOSYS
            // An exec'd process gets the container's filter too, and its own listener goes to the agent.
            agent.acceptNext();
            java.util.concurrent.CompletableFuture<RuntimeCli.Result> exec = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> {
                        try {
                            return rt.run("exec", id, "/bin/sh", "-c",
                                    "mkdir /tmp/x; echo status=$?; touch /tmp/y && echo touch-ok");
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
            ConsoleSocket.Received second = agent.await();
            int execPid = io.vessel.json.JsonNode.parse("listener message", second.text()).get("pid").intValue();
            assertTrue(execPid > 0 && execPid != pid, "the exec'd process's own pid: " + second.text());
            ConsoleSocket.close(second.fd());
            RuntimeCli.Result r = exec.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(r.out().contains("status=1") && r.out().contains("touch-ok"), r.out() + r.err());
            assertTrue(r.err().contains("Function not implemented"), r.err());
        }
    }

    @Test
    void ruleWithArguments() throws Exception {
        linux().put("seccomp", profile("SCMP_ACT_ALLOW", null, List.of(
                obj("names", List.of("kill"), "action", "SCMP_ACT_ERRNO", "errnoRet", 1,
                        "args", List.of(obj("index", 1, "value", 10, "op", "SCMP_CMP_EQ"))))));
        String out = runOk("trap 'echo got-hup' HUP; kill -USR1 $$; echo usr1=$?; kill -HUP $$; echo hup=$?; kill -0 $$; echo zero=$?");
        assertTrue(out.contains("usr1=1"), "kill(pid, SIGUSR1) is refused: " + out);
        assertTrue(out.contains("got-hup") && out.contains("hup=0"), out);
        assertTrue(out.contains("zero=0"), out);
    }

    @ParameterizedTest(name = "noNewPrivileges={0}")
    @ValueSource(booleans = {true, false})
    void defaultErrnoWithAnAllowList(boolean nnp) throws Exception {
        process().put("noNewPrivileges", nnp);
        linux().put("seccomp", profile("SCMP_ACT_ERRNO", 38, List.of(obj("names", ALLOWED, "action", "SCMP_ACT_ALLOW"))));
        String out = runOk("echo sh-runs; mkdir /tmp/x 2>&1; echo status=$?");
        assertTrue(out.contains("sh-runs"), out);
        assertTrue(out.contains("Function not implemented") && out.contains("status=1"),
                "mkdir is not in the list: defaultErrnoRet ENOSYS: " + out);
    }

    @Test
    void killProcessAction() throws Exception {
        linux().put("seccomp", profile("SCMP_ACT_ALLOW", null, List.of(
                obj("names", List.of("mkdir", "mkdirat"), "action", "SCMP_ACT_KILL_PROCESS"))));
        // mkdir runs in a child of the shell: that child dies of SIGSYS
        String out = runOk("mkdir /tmp/x; echo status=$?; test -d /tmp/x || echo no-dir");
        assertTrue(out.contains("status=" + (128 + 31)) && out.contains("no-dir"), out);
    }

    @Test
    void anInvalidProfileFailsCreateNamingTheFieldAndLeavesNothing() throws Exception {
        linux().put("seccomp", profile("SCMP_ACT_NOTIFY", null, List.of()));
        Leftovers before = Leftovers.before(tmp);
        RuntimeCli.Result r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("linux.seccomp.defaultAction"), r.err());
        before.assertNothingLeft(rt, id);

        linux().put("seccomp", profile("SCMP_ACT_ALLOW", null, List.of(
                obj("names", List.of("kill"), "action", "SCMP_ACT_ERRNO",
                        "args", List.of(obj("index", 9, "value", 1, "op", "SCMP_CMP_EQ"))))));
        r = run("true");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("linux.seccomp.syscalls[0].args[0].index"), r.err());
        before.assertNothingLeft(rt, id);
    }
}
