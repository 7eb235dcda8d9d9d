package io.vessel.runtime.process;

/** The operations of the native launcher's plan; codes match {@code native/vessel-launch.c}. */
public enum Op {
    CONFIG(1), JOIN_CGROUP(2), SETNS(3), UNSHARE(4), WRITE_FILE(5), CLONE(6),
    SETSID(10), SETHOSTNAME(11), SETDOMAINNAME(12), MOUNT(13), MKNOD(14), SYMLINK(15), ROOT_PROPAGATION(16),
    PIVOT_ROOT(17), MOVE_CHROOT(18), MASK(19), READONLY(20), CONSOLE(21), SYNC(22), RUN_HOOK(23), SETRLIMIT(24),
    UMASK(25), USER(26), CAPS(27), NO_NEW_PRIVS(28), SECCOMP(29), CHDIR(30), LOOKUP_EXEC(31), WAIT_START(32),
    EXEC(33), DUMPABLE(35), MKFIFO(37), OPEN_PATH(38), CONNECT(39),
    JOIN_KEYRING(40), MOUNT_SETATTR(41), PERSONALITY(42);

    final int code;

    Op(int code) {
        this.code = code;
    }
}
