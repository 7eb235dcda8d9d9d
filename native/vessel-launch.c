/*
 * vessel-launch: the stage-1 launcher of Vessel's OCI runtime.
 *
 * A JVM is multi-threaded from its first instant, so it cannot enter new user or mount
 * namespaces, and nothing may run in a forked JVM child. This program does those steps for it.
 * It decides nothing: Java sends a fully resolved plan, a list of operations with string
 * arguments, and this program performs them in order, reporting the first failure.
 *
 * Invocation: "vessel-launch fifo DIR" (this program makes the FIFOs DIR/in and DIR/out, the
 * runtime opens their other ends) or "vessel-launch fd N" (a socket at descriptor N). The plan
 * arrives first on "in", then "in" carries the runtime's replies and "out" this program's
 * messages, one line each. "vessel-launch signal SIG PID[:STARTTIME]..." signals
 * processes through pidfds, checking each one's start time so that a reused pid is never hit.
 *
 * Plan wire format (host byte order):
 *   u32 magic "VSL1", u32 op count, then per op: u32 code, u32 argc, argc x (u32 len, bytes).
 *   Every argument is a string whose bytes include a terminating NUL (numbers in decimal or
 *   0x-hex), except SECCOMP's filter, which is raw bytes.
 *
 * Processes: this process (L) performs the ops up to CLONE in the caller's namespaces, then
 * clones the container process (C) into the new namespaces. L writes C's uid/gid maps, lets C
 * go, reports "pid N" on the sync socket and either exits or waits for C and reports
 * "exit N". C performs the remaining ops and ends in execve. Any failure is sent on the sync
 * socket as "error <op>: <what>: <strerror>" and ends the process with status 1 (L: 2).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PLAN_MAGIC 0x314c5356u /* "VSL1" little-endian */
#define MAX_PLAN (16u << 20)

/* Operation codes: keep in step with io.vessel.runtime.process.Op. */
enum {
    OP_CONFIG = 1,       /* preserved_fds */
    OP_JOIN_CGROUP = 2,  /* procs-file */
    OP_SETNS = 3,        /* path nstype */
    OP_UNSHARE = 4,      /* flags */
    OP_WRITE_FILE = 5,   /* path content */
    OP_CLONE = 6,        /* flags uid_map gid_map setgroups wait */
    OP_SETSID = 10,
    OP_SETHOSTNAME = 11, /* name */
    OP_SETDOMAINNAME = 12,
    OP_MOUNT = 13,       /* root rel mkmode source fstype flags data remount_flags propagation [copyup] */
    OP_MKNOD = 14,       /* root rel mode dev uid gid */
    OP_SYMLINK = 15,     /* root rel target */
    OP_ROOT_PROPAGATION = 16, /* flags */
    OP_PIVOT_ROOT = 17,  /* newroot */
    OP_MOVE_CHROOT = 18, /* newroot */
    OP_MASK = 19,        /* path */
    OP_READONLY = 20,    /* path */
    OP_CONSOLE = 21,     /* socketfd mount_console rows cols */
    OP_SYNC = 22,        /* message */
    OP_RUN_HOOK = 23,    /* timeout path argc args... envc env... */
    OP_SETRLIMIT = 24,   /* resource soft hard */
    OP_UMASK = 25,       /* mask */
    OP_USER = 26,        /* uid gid groups... */
    OP_CAPS = 27,        /* bounding effective permitted inheritable ambient */
    OP_NO_NEW_PRIVS = 28,
    OP_SECCOMP = 29,     /* flags filter */
    OP_CHDIR = 30,       /* path */
    OP_LOOKUP_EXEC = 31, /* program PATH */
    OP_WAIT_START = 32,  /* fd name: the FIFO name in directory fd, or "" for fd itself (reopened by /proc) */
    OP_EXEC = 33,        /* argc args... envc env... */
    OP_DUMPABLE = 35,    /* 0|1 */
    OP_MKFIFO = 37,      /* path mode */
    OP_OPEN_PATH = 38,   /* slot path: an O_PATH descriptor placed at slot */
    OP_CONNECT = 39,     /* slot path: a connected Unix stream socket placed at slot */
    OP_JOIN_KEYRING = 40, /* name: a new session keyring (or the one of that name) */
    OP_MOUNT_SETATTR = 41, /* root rel set clear: mount attributes, recursively */
    OP_PERSONALITY = 42, /* domain */
};

struct op {
    uint32_t code;
    uint32_t argc;
    char **argv;
    uint32_t *lens;
    int fd; /* SETNS: the namespace file, opened before any namespace is joined */
};

static const char *stage = "launch";
static int sync_fd = -1;   /* messages out */
static int sync_in = -1;   /* the plan, then replies */
static int preserved_fds = 0;
static char *state_json = NULL;     /* the container state, sent by Java with the SYNC reply */
static char exec_path[4096];
static pid_t host_pid;             /* the container process's pid as the runtime sees it */
static int exit_code_on_error = 1;

static const char *op_name(uint32_t code)
{
    switch (code) {
    case OP_CONFIG: return "config";
    case OP_JOIN_CGROUP: return "join cgroup";
    case OP_SETNS: return "setns";
    case OP_UNSHARE: return "unshare";
    case OP_WRITE_FILE: return "write";
    case OP_CLONE: return "clone";
    case OP_SETSID: return "setsid";
    case OP_SETHOSTNAME: return "sethostname";
    case OP_SETDOMAINNAME: return "setdomainname";
    case OP_MOUNT: return "mount";
    case OP_MKNOD: return "mknod";
    case OP_SYMLINK: return "symlink";
    case OP_ROOT_PROPAGATION: return "root propagation";
    case OP_PIVOT_ROOT: return "pivot_root";
    case OP_MOVE_CHROOT: return "move+chroot";
    case OP_MASK: return "mask path";
    case OP_READONLY: return "read-only path";
    case OP_CONSOLE: return "console";
    case OP_SYNC: return "sync";
    case OP_RUN_HOOK: return "hook";
    case OP_SETRLIMIT: return "setrlimit";
    case OP_UMASK: return "umask";
    case OP_USER: return "user";
    case OP_CAPS: return "capabilities";
    case OP_NO_NEW_PRIVS: return "no_new_privs";
    case OP_SECCOMP: return "seccomp";
    case OP_CHDIR: return "chdir";
    case OP_LOOKUP_EXEC: return "exec lookup";
    case OP_WAIT_START: return "wait for start";
    case OP_EXEC: return "exec";
    case OP_DUMPABLE: return "dumpable";
    case OP_MKFIFO: return "mkfifo";
    case OP_OPEN_PATH: return "open";
    case OP_CONNECT: return "connect";
    case OP_JOIN_KEYRING: return "session keyring";
    case OP_MOUNT_SETATTR: return "mount attributes";
    case OP_PERSONALITY: return "personality";
    default: return "unknown op";
    }
}

static void send_msg(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof buf - 1)
        n = sizeof buf - 2;
    for (int i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = ' ';
    buf[n++] = '\n';
    int fd = sync_fd >= 0 ? sync_fd : 2;
    for (char *p = buf; n > 0;) {
        ssize_t w = write(fd, p, n); /* SIGPIPE is ignored until exec */
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= w;
    }
}

/* Reports "error <op>: <what>: <strerror(err)>" and exits. */
static void __attribute__((noreturn)) fail(uint32_t code, int err, const char *fmt, ...)
{
    char what[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* On stderr (once the runtime no longer listens) the line must say whose it is. */
    const char *who = sync_fd >= 0 ? "" : "vessel-runtime: ";
    if (err)
        send_msg("%serror %s: %s: %s", who, op_name(code), what, strerror(err));
    else
        send_msg("%serror %s: %s", who, op_name(code), what);
    _exit(exit_code_on_error);
}

static uint64_t num(const struct op *op, uint32_t i)
{
    if (i >= op->argc)
        fail(op->code, 0, "plan is missing argument %u", i);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(op->argv[i], &end, 0);
    if (errno || *end)
        fail(op->code, 0, "plan argument %u is not a number: %s", i, op->argv[i]);
    return v;
}

static const char *str(const struct op *op, uint32_t i)
{
    if (i >= op->argc)
        fail(op->code, 0, "plan is missing argument %u", i);
    return op->argv[i];
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = read(fd, (char *)buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : (ssize_t)off;
        off += n;
    }
    return off;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= n;
    }
    return 0;
}

/* Reads and splits the plan; the buffer lives until execve. */
static struct op *read_plan(int fd, uint32_t *count)
{
    uint32_t head[2];
    if (read_full(fd, head, sizeof head) != sizeof head || head[0] != PLAN_MAGIC)
        fail(0, 0, "bad plan header");
    uint32_t n = head[1];
    if (n > 65536)
        fail(0, 0, "plan has too many ops (%u)", n);
    struct op *ops = calloc(n ? n : 1, sizeof *ops);
    if (!ops)
        fail(0, ENOMEM, "plan");
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h[2];
        if (read_full(fd, h, sizeof h) != sizeof h)
            fail(0, 0, "truncated plan at op %u", i);
        if (h[1] > 4096)
            fail(h[0], 0, "op %u has too many arguments", i);
        ops[i].code = h[0];
        ops[i].argc = h[1];
        ops[i].argv = calloc(h[1] + 1, sizeof(char *));
        ops[i].lens = calloc(h[1] + 1, sizeof(uint32_t));
        if (!ops[i].argv || !ops[i].lens)
            fail(h[0], ENOMEM, "plan");
        for (uint32_t a = 0; a < h[1]; a++) {
            uint32_t len;
            if (read_full(fd, &len, sizeof len) != sizeof len)
                fail(h[0], 0, "truncated plan");
            total += len;
            if (total > MAX_PLAN)
                fail(h[0], 0, "plan too large");
            char *s = malloc(len + 1);
            if (!s)
                fail(h[0], ENOMEM, "plan");
            if (read_full(fd, s, len) != (ssize_t)len)
                fail(h[0], 0, "truncated plan argument");
            s[len] = 0;
            ops[i].argv[a] = s;
            ops[i].lens[a] = len;
        }
    }
    *count = n;
    return ops;
}

/* CVE-2019-5736: run from a sealed in-memory copy, so that a container process that reaches
 * /proc/<pid>/exe of this process cannot rewrite the binary on the host. */
static void ensure_sealed_copy(char **argv, char **envp)
{
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        fail(0, errno, "open /proc/self/exe");
    int seals = fcntl(self, F_GET_SEALS);
    if (seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_SEAL)) == (F_SEAL_WRITE | F_SEAL_SEAL)) {
        close(self);
        return;
    }
    int mfd = memfd_create("vessel-launch", MFD_CLOEXEC | MFD_ALLOW_SEALING | 0x0010u /* MFD_EXEC */);
    if (mfd < 0 && errno == EINVAL)
        mfd = memfd_create("vessel-launch", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        fail(0, errno, "memfd_create");
    char buf[65536];
    ssize_t n;
    while ((n = read(self, buf, sizeof buf)) > 0)
        if (write_all(mfd, buf, n) < 0)
            fail(0, errno, "copy launcher to memfd");
    if (n < 0)
        fail(0, errno, "read /proc/self/exe");
    close(self);
    if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        fail(0, errno, "seal memfd");
    fexecve(mfd, argv, envp);
    fail(0, errno, "fexecve sealed launcher");
}

/* Opens rel (an absolute-looking path inside root) without leaving root, creating missing
 * directories, and for mkmode "file" a missing final empty file. Returns an O_PATH fd. */
static int open_in_root(uint32_t code, const char *root, const char *rel, const char *mkmode)
{
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        fail(code, errno, "open root %s", root);
    struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    int fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    if (fd >= 0 || errno != ENOENT || strcmp(mkmode, "none") == 0) {
        if (fd < 0)
            fail(code, errno, "open %s in %s", rel, root);
        close(rootfd);
        return fd;
    }
    /* Walk the components, creating what is missing; every step resolved inside root. */
    char path[4096];
    snprintf(path, sizeof path, "%s", rel);
    size_t len = strlen(path);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != 0)
            continue;
        char saved = path[i];
        path[i] = 0;
        int last = saved == 0 || (saved == '/' && i + 1 >= len);
        struct open_how h2 = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int probe = syscall(SYS_openat2, rootfd, path, &h2, sizeof h2);
        if (probe >= 0) {
            close(probe);
        } else if (errno == ENOENT) {
            char *slash = strrchr(path, '/');
            char parent[4096];
            const char *name;
            if (slash == path || slash == NULL) {
                snprintf(parent, sizeof parent, "/");
                name = slash ? slash + 1 : path;
            } else {
                snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
                name = slash + 1;
            }
            struct open_how h3 = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                   .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
            int pfd = syscall(SYS_openat2, rootfd, parent, &h3, sizeof h3);
            if (pfd < 0)
                fail(code, errno, "open %s in %s", parent, root);
            int r;
            if (last && strcmp(mkmode, "file") == 0) {
                /* O_PATH parents cannot be used for openat(O_CREAT) on all kernels; go through /proc. */
                char p[64];
                snprintf(p, sizeof p, "/proc/self/fd/%d", pfd);
                int dfd = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                r = dfd < 0 ? -1 : openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (r >= 0)
                    close(r);
                if (dfd >= 0)
                    close(dfd);
            } else {
                char p[64];
                snprintf(p, sizeof p, "/proc/self/fd/%d", pfd);
                int dfd = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                r = dfd < 0 ? -1 : mkdirat(dfd, name, 0755);
                if (dfd >= 0)
                    close(dfd);
            }
            if (r < 0 && errno != EEXIST)
                fail(code, errno, "create %s in %s", path, root);
            close(pfd);
        } else {
            fail(code, errno, "open %s in %s", path, root);
        }
        path[i] = saved;
    }
    fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    if (fd < 0)
        fail(code, errno, "open %s in %s", rel, root);
    close(rootfd);
    return fd;
}

static void fd_path(int fd, char *buf, size_t len)
{
    snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* Copies the contents of directory src into directory dst: files, directories, symlinks and
 * special files, with owner, mode and times. Both descriptors stay open. */
static void copy_tree(uint32_t code, int src, int dst, const char *where)
{
    int dupfd = dup(src);
    DIR *d = dupfd < 0 ? NULL : fdopendir(dupfd);
    if (!d)
        fail(code, errno, "copy up: read directory %s", where);
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            fail(code, errno, "copy up: stat %s/%s", where, name);
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(dst, name, 0700) < 0 && errno != EEXIST)
                fail(code, errno, "copy up: mkdir %s/%s", where, name);
            int s2 = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int d2 = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0)
                fail(code, errno, "copy up: open %s/%s", where, name);
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", where, name);
            copy_tree(code, s2, d2, sub);
            close(s2);
            close(d2);
        } else if (S_ISREG(st.st_mode)) {
            int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int out = openat(dst, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (in < 0 || out < 0)
                fail(code, errno, "copy up: open %s/%s", where, name);
            char buf[65536];
            ssize_t n;
            while ((n = read(in, buf, sizeof buf)) != 0) {
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0 || write_all(out, buf, n) < 0)
                    fail(code, errno, "copy up: copy %s/%s", where, name);
            }
            close(in);
            close(out);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(src, name, target, sizeof target - 1);
            if (n < 0)
                fail(code, errno, "copy up: readlink %s/%s", where, name);
            target[n] = 0;
            if (symlinkat(target, dst, name) < 0)
                fail(code, errno, "copy up: symlink %s/%s", where, name);
        } else if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) {
            fail(code, errno, "copy up: mknod %s/%s", where, name);
        }
        if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            fail(code, errno, "copy up: chown %s/%s", where, name);
        if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
            fail(code, errno, "copy up: chmod %s/%s", where, name);
        struct timespec times[2] = { st.st_atim, st.st_mtim };
        utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW);
    }
    closedir(d);
}

static void do_mount(const struct op *op)
{
    const char *root = str(op, 0), *rel = str(op, 1), *mkmode = str(op, 2);
    const char *source = str(op, 3), *fstype = str(op, 4);
    unsigned long flags = num(op, 5);
    const char *data = str(op, 6);
    unsigned long remount = num(op, 7);
    const char *prop = str(op, 8);
    int copyup = op->argc > 9 && num(op, 9); /* optional: tmpcopyup */
    int fd = open_in_root(op->code, root, rel, mkmode);
    char target[64];
    fd_path(fd, target, sizeof target);
    /* tmpcopyup: the covered directory stays reachable through a descriptor opened before the mount */
    int covered = copyup ? open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (copyup && covered < 0)
        fail(op->code, errno, "open %s%s to copy it up", root, rel);
    if (mount(*source ? source : NULL, target, *fstype ? fstype : NULL, flags, *data ? data : NULL) < 0)
        fail(op->code, errno, "mount %s on %s%s (type %s, flags 0x%lx, data \"%s\")", source, root, rel,
             *fstype ? fstype : "bind", flags, data);
    close(fd);
    if (copyup) {
        int top = open_in_root(op->code, root, rel, "none");
        fd_path(top, target, sizeof target);
        int dst = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
            fail(op->code, errno, "open the new mount on %s%s", root, rel);
        copy_tree(op->code, covered, dst, rel);
        close(dst);
        close(top);
        close(covered);
    }
    if (remount || *prop) {
        /* Reopen: the new mount now covers the target. */
        fd = open_in_root(op->code, root, rel, "none");
        fd_path(fd, target, sizeof target);
        if (remount && mount(NULL, target, NULL, remount, NULL) < 0) {
            /* Remounting a bind mount must keep the locked flags of the source (nodev, nosuid...). */
            struct statvfs sv;
            unsigned long keep = 0;
            if (errno == EPERM && fstatvfs(fd, &sv) == 0) {
                keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
                if (mount(NULL, target, NULL, remount | keep, NULL) == 0)
                    goto propagate;
            }
            fail(op->code, errno, "remount %s%s with flags 0x%lx", root, rel, remount);
        }
propagate:
        for (const char *p = prop; *p;) {
            char *end;
            unsigned long pf = strtoul(p, &end, 0);
            if (mount(NULL, target, NULL, pf, NULL) < 0)
                fail(op->code, errno, "set propagation 0x%lx on %s%s", pf, root, rel);
            p = *end == ',' ? end + 1 : end;
        }
        close(fd);
    }
}

/* Opens the directory that holds rel inside root (made if missing, never leaving root) for the
 * *at() calls, and points *name at rel's last component, kept in buf. */
static int open_parent_in_root(uint32_t code, const char *root, const char *rel, char *buf, size_t len,
                               const char **name)
{
    snprintf(buf, len, "%s", rel);
    char *slash = strrchr(buf, '/');
    *name = rel + (slash ? slash - buf + 1 : 0);
    if (slash == buf)
        buf[1] = 0;
    else if (slash)
        *slash = 0;
    int pfd = open_in_root(code, root, buf, "dir");
    char p[64];
    fd_path(pfd, p, sizeof p);
    int dfd = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (dfd < 0)
        fail(code, errno, "open %s%s", root, buf);
    close(pfd);
    return dfd;
}

/* struct mount_attr of <linux/mount.h>, which clashes with glibc's <sys/mount.h>. */
struct vessel_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

static void do_mount_setattr(const struct op *op)
{
    const char *root = str(op, 0), *rel = str(op, 1);
    struct vessel_mount_attr attr = { .attr_set = num(op, 2), .attr_clr = num(op, 3) };
    int fd = open_in_root(op->code, root, rel, "none");
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
        fail(op->code, errno, "set 0x%llx, clear 0x%llx on %s%s and the mounts below it",
             (unsigned long long)attr.attr_set, (unsigned long long)attr.attr_clr, root, rel);
    close(fd);
}

static void do_mknod(const struct op *op)
{
    const char *root = str(op, 0), *rel = str(op, 1), *name;
    mode_t mode = num(op, 2);
    dev_t dev = num(op, 3);
    uid_t uid = num(op, 4);
    gid_t gid = num(op, 5);
    char parent[4096];
    int dfd = open_parent_in_root(op->code, root, rel, parent, sizeof parent, &name);
    unlinkat(dfd, name, 0);
    if (mknodat(dfd, name, mode, dev) < 0)
        fail(op->code, errno, "mknod %s%s (mode 0%o, %u:%u)", root, rel, mode, major(dev), minor(dev));
    if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        fail(op->code, errno, "chown %s%s", root, rel);
    if (fchmodat(dfd, name, mode & 07777, 0) < 0)
        fail(op->code, errno, "chmod %s%s", root, rel);
    close(dfd);
}

static void do_symlink(const struct op *op)
{
    const char *root = str(op, 0), *rel = str(op, 1), *target = str(op, 2), *name;
    char parent[4096];
    int dfd = open_parent_in_root(op->code, root, rel, parent, sizeof parent, &name);
    if (symlinkat(target, dfd, name) < 0 && errno != EEXIST)
        fail(op->code, errno, "symlink %s%s -> %s", root, rel, target);
    close(dfd);
}

static void do_pivot_root(const struct op *op)
{
    const char *root = str(op, 0);
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    int newroot = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0 || newroot < 0)
        fail(op->code, errno, "open %s", root);
    if (fchdir(newroot) < 0)
        fail(op->code, errno, "chdir %s", root);
    /* pivot_root(".", ".") stacks the old root under the new one; then detach it. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        fail(op->code, errno, "pivot_root to %s", root);
    if (fchdir(oldroot) < 0)
        fail(op->code, errno, "chdir old root");
    /* Keep the umount from propagating to the host. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        fail(op->code, errno, "make old root rslave");
    if (umount2(".", MNT_DETACH) < 0)
        fail(op->code, errno, "detach old root");
    if (chdir("/") < 0)
        fail(op->code, errno, "chdir /");
    close(oldroot);
    close(newroot);
}

static void do_move_chroot(const struct op *op)
{
    const char *root = str(op, 0);
    if (chdir(root) < 0)
        fail(op->code, errno, "chdir %s", root);
    if (mount(root, "/", NULL, MS_MOVE, NULL) < 0)
        fail(op->code, errno, "move %s to /", root);
    if (chroot(".") < 0)
        fail(op->code, errno, "chroot %s", root);
    if (chdir("/") < 0)
        fail(op->code, errno, "chdir /");
}

static void do_mask(const struct op *op)
{
    const char *path = str(op, 0);
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return;
        fail(op->code, errno, "stat %s", path);
    }
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
            fail(op->code, errno, "mount empty tmpfs on %s", path);
    } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 && errno != ENOENT) {
        fail(op->code, errno, "bind /dev/null on %s", path);
    }
}

static void do_readonly(const struct op *op)
{
    const char *path = str(op, 0);
    int recursive = op->argc > 1 && num(op, 1);
    if (strcmp(path, "/") != 0 && mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT)
            return;
        fail(op->code, errno, "bind %s on itself", path);
    }
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        fail(op->code, errno, "statvfs %s", path);
    unsigned long keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep | (recursive ? MS_REC : 0), NULL) < 0)
        fail(op->code, errno, "remount %s read-only", path);
}

/* Sends payload with fd attached (SCM_RIGHTS); a failure is reported as op's. */
static void send_fd(uint32_t code, int sock, int fd, const char *payload, const char *what)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = { .iov_base = (void *)payload, .iov_len = strlen(payload) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR)
            fail(code, errno, "send %s", what);
    }
}

static void do_console(const struct op *op)
{
    int sock = num(op, 0);
    int mount_console = num(op, 1);
    unsigned rows = num(op, 2), cols = num(op, 3);
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        fail(op->code, errno, "open /dev/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        fail(op->code, errno, "unlock pty");
    int ptn;
    if (ioctl(master, TIOCGPTN, &ptn) < 0)
        fail(op->code, errno, "pty number");
    char slave_path[64];
    snprintf(slave_path, sizeof slave_path, "/dev/pts/%d", ptn);
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0)
        slave = open(slave_path, O_RDWR | O_NOCTTY);
    if (slave < 0)
        fail(op->code, errno, "open %s", slave_path);
    if (rows && cols) {
        struct winsize ws = { .ws_row = rows, .ws_col = cols };
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    if (mount_console) {
        int c = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (c >= 0)
            close(c);
        if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
            fail(op->code, errno, "bind %s on /dev/console", slave_path);
    }
    if (sock >= 0) {
        send_fd(op->code, sock, master, slave_path, "the terminal to the console socket");
        close(sock);
    } else {
        send_fd(op->code, sync_fd, master, slave_path, "the terminal to the runtime");
    }
    close(master);
    if (setsid() < 0 && errno != EPERM)
        fail(op->code, errno, "setsid");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        fail(op->code, errno, "make %s the controlling terminal", slave_path);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            fail(op->code, errno, "dup2 terminal");
    if (slave > 2)
        close(slave);
}

/* Sends a message and waits for Java's reply "ok[ payload]"; the payload becomes the state. */
static void do_sync(const struct op *op)
{
    send_msg("%s", str(op, 0));
    static char buf[1 << 16];
    size_t len = 0;
    while (len == 0 || buf[len - 1] != '\n') {
        ssize_t n = read(sync_in, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || len + n >= sizeof buf - 1)
            fail(op->code, n < 0 ? errno : 0, "the runtime went away while waiting for it (%s)", str(op, 0));
        len += n;
    }
    buf[len - 1] = 0;
    if (strncmp(buf, "ok", 2) != 0)
        fail(op->code, 0, "the runtime answered: %s", buf);
    if (buf[2] == ' ')
        state_json = buf + 3;
}

static void collect(const struct op *op, uint32_t *i, char ***out)
{
    uint32_t n = num(op, (*i)++);
    if (n > op->argc)
        fail(op->code, 0, "bad count");
    char **v = calloc(n + 1, sizeof(char *));
    for (uint32_t k = 0; k < n; k++)
        v[k] = (char *)str(op, (*i)++);
    *out = v;
}

static void do_hook(const struct op *op)
{
    uint32_t i = 0;
    long timeout = num(op, i++);
    const char *path = str(op, i++);
    char **args, **env;
    collect(op, &i, &args);
    collect(op, &i, &env);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        fail(op->code, errno, "pipe");
    pid_t pid = fork();
    if (pid < 0)
        fail(op->code, errno, "fork for hook %s", path);
    if (pid == 0) {
        dup2(p[0], 0);
        signal(SIGPIPE, SIG_DFL);
        execve(path, args, env);
        _exit(127);
    }
    close(p[0]);
    const char *s = state_json ? state_json : "{}";
    write_all(p[1], s, strlen(s));
    close(p[1]);
    int pidfd = syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        int r;
        do
            r = poll(&pfd, 1, timeout > 0 ? (int)(timeout * 1000) : -1);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail(op->code, 0, "%s timed out after %ld s", path, timeout);
        }
        close(pidfd);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            fail(op->code, errno, "wait for hook %s", path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        fail(op->code, 0, "%s could not be run", path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(op->code, 0, "%s failed with %s %d", path, WIFEXITED(status) ? "status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void do_user(const struct op *op)
{
    uid_t uid = num(op, 0);
    gid_t gid = num(op, 1);
    size_t n = op->argc - 2;
    gid_t *groups = calloc(n + 1, sizeof(gid_t));
    for (size_t i = 0; i < n; i++)
        groups[i] = num(op, i + 2);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        fail(op->code, errno, "keep capabilities");
    /* setgroups may be denied in a user namespace (setgroups "deny"): only fail if groups are wanted. */
    if (setgroups(n, groups) < 0 && !(errno == EPERM && n == 0))
        fail(op->code, errno, "setgroups (%zu groups)", n);
    if (setresgid(gid, gid, gid) < 0)
        fail(op->code, errno, "setresgid %u", gid);
    if (setresuid(uid, uid, uid) < 0)
        fail(op->code, errno, "setresuid %u", uid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        fail(op->code, errno, "clear keep capabilities");
    free(groups);
}

/* Joins session keyring "name" (made when there is none), so that the container does not share
 * the caller's; then lets its owner search it, so that later processes can join it by name. */
static void do_join_keyring(const struct op *op)
{
    const char *name = str(op, 0);
    long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
    if (id < 0) {
        if (errno == ENOSYS)
            return; /* a kernel without keys: nothing is shared either */
        fail(op->code, errno, "join %s", name);
    }
    char desc[512];
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof desc - 1, 0);
    if (n < 0)
        fail(op->code, errno, "describe %s", name);
    desc[n < (long)sizeof desc ? n : (long)sizeof desc - 1] = 0;
    /* "type;uid;gid;perm;description", the permissions in hex */
    char *p = desc;
    for (int field = 0; field < 3 && p; field++) {
        p = strchr(p, ';');
        if (p)
            p++;
    }
    if (!p)
        fail(op->code, 0, "unexpected description of %s: %s", name, desc);
    unsigned long perm = strtoul(p, NULL, 16) | 0x080000; /* KEY_USR_SEARCH */
    if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, perm, 0, 0) < 0)
        fail(op->code, errno, "set the permissions of %s to 0x%lx", name, perm);
}

static void do_caps(const struct op *op)
{
    uint64_t bounding = num(op, 0), effective = num(op, 1), permitted = num(op, 2);
    uint64_t inheritable = num(op, 3), ambient = num(op, 4);
    int last = 40;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) {
        if (fscanf(f, "%d", &last) != 1)
            last = 40;
        fclose(f);
    }
    /* A change to a non-zero uid empties the effective set (the permitted one is kept): make
     * the permitted set effective again, as dropping from the bounding set needs CAP_SETPCAP. */
    struct __user_cap_header_struct cur_hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct cur[2];
    if (syscall(SYS_capget, &cur_hdr, cur) == 0) {
        cur[0].effective = cur[0].permitted;
        cur[1].effective = cur[1].permitted;
        if (syscall(SYS_capset, &cur_hdr, cur) < 0)
            fail(op->code, errno, "raise the permitted capabilities");
    }
    for (int c = 0; c <= last; c++) {
        if (!(bounding & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            fail(op->code, errno, "drop capability %d from the bounding set", c);
    }
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2] = {
        { .effective = (uint32_t)effective, .permitted = (uint32_t)permitted, .inheritable = (uint32_t)inheritable },
        { .effective = (uint32_t)(effective >> 32), .permitted = (uint32_t)(permitted >> 32),
          .inheritable = (uint32_t)(inheritable >> 32) },
    };
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail(op->code, errno, "capset (effective 0x%llx, permitted 0x%llx, inheritable 0x%llx)",
             (unsigned long long)effective, (unsigned long long)permitted, (unsigned long long)inheritable);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int c = 0; c <= last; c++) {
        if ((ambient & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            fail(op->code, errno, "raise ambient capability %d", c);
    }
}

static void do_seccomp(const struct op *op)
{
    unsigned flags = num(op, 0);
    if (op->argc < 2 || op->lens[1] % sizeof(struct sock_filter) != 0 || op->lens[1] == 0)
        fail(op->code, 0, "malformed filter");
    struct sock_fprog prog = { .len = op->lens[1] / sizeof(struct sock_filter), .filter = (void *)op->argv[1] };
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (r < 0)
        fail(op->code, errno, "load filter of %u instructions (flags 0x%x)", prog.len, flags);
    if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        /* The runtime spec's ContainerProcessState, with the listener attached, to listenerPath. */
        int sock = op->argc > 2 ? (int)num(op, 2) : -1;
        const char *metadata = op->argc > 3 ? str(op, 3) : "";
        const char *state = op->argc > 4 && *str(op, 4) ? str(op, 4) : state_json ? state_json : "{}";
        if (sock < 0)
            fail(op->code, 0, "a listener was asked for but no listenerPath was connected");
        size_t len = strlen(state) + strlen(metadata) + 160;
        char *msg = malloc(len);
        if (!msg)
            fail(op->code, ENOMEM, "listener message");
        snprintf(msg, len, "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":%d%s%s,\"state\":%s}",
                 host_pid, *metadata ? ",\"metadata\":" : "", metadata, state);
        send_fd(op->code, sock, (int)r, msg, "the seccomp listener to listenerPath");
        free(msg);
        close((int)r);
        close(sock);
    }
}

static void do_chdir(const struct op *op)
{
    const char *path = str(op, 0);
    if (chdir(path) < 0)
        fail(op->code, errno, "chdir to cwd %s", path);
    /* CVE-2024-21626: a cwd reached through a leaked descriptor lies outside the root. */
    char buf[4096];
    if (!getcwd(buf, sizeof buf) || buf[0] != '/')
        fail(op->code, ENOENT, "cwd %s is outside the container's root", path);
}

static void do_lookup_exec(const struct op *op)
{
    const char *prog = str(op, 0), *path = str(op, 1);
    struct stat st;
    if (strchr(prog, '/')) {
        if (stat(prog, &st) < 0)
            fail(op->code, errno, "%s", prog);
        if (!S_ISREG(st.st_mode))
            fail(op->code, EACCES, "%s is not a regular file", prog);
        snprintf(exec_path, sizeof exec_path, "%s", prog);
        return;
    }
    const char *p = *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(exec_path, sizeof exec_path, "%.*s/%s", (int)len, len ? p : ".", prog);
        if (stat(exec_path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
            return;
        p += len + (end ? 1 : 0);
    }
    fail(op->code, ENOENT, "executable file \"%s\" not found in $PATH", prog);
}

static void do_wait_start(const struct op *op)
{
    int dirfd = num(op, 0);
    const char *name = str(op, 1);
    send_msg("ready");
    /* The runtime stops listening once the init is ready: what fails from here on (opening
     * the FIFO, startContainer hooks, exec) is reported on the container's stderr. */
    if (sync_in != sync_fd)
        close(sync_in);
    close(sync_fd);
    sync_fd = sync_in = -1;
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", dirfd);
    int fd;
    do
        fd = *name ? openat(dirfd, name, O_WRONLY | O_CLOEXEC) : open(self, O_WRONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        fail(op->code, errno, "open exec fifo");
    if (write_all(fd, "0", 1) < 0)
        fail(op->code, errno, "write exec fifo");
    close(fd);
    close(dirfd);
}

static void __attribute__((noreturn)) do_exec(const struct op *op)
{
    uint32_t i = 0;
    char **args, **env;
    collect(op, &i, &args);
    collect(op, &i, &env);
    /* Nothing from the runtime may reach the container: mark every descriptor above the
     * preserved ones close-on-exec (the sync socket closes too, which tells Java we exec'd). */
    syscall(SYS_close_range, 3 + preserved_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    const char *path = exec_path[0] ? exec_path : args[0];
    signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay ignored in the container */
    execve(path, args, env);
    fail(op->code, errno, "exec %s", path);
}

static void write_file(uint32_t code, const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
    if (fd < 0)
        fail(code, errno, "open %s", path);
    if (write_all(fd, content, strlen(content)) < 0)
        fail(code, errno, "write \"%s\" to %s", content, path);
    close(fd);
}

/* The parent side of CLONE: maps, go, report, maybe wait. Never returns. */
static void __attribute__((noreturn)) parent_after_clone(const struct op *op, pid_t child, int go_fd)
{
    const char *uid_map = str(op, 1), *gid_map = str(op, 2), *setgroups = str(op, 3);
    int wait = num(op, 4);
    char path[64];
    if (*uid_map) {
        if (*setgroups) {
            snprintf(path, sizeof path, "/proc/%d/setgroups", child);
            write_file(op->code, path, setgroups);
        }
        snprintf(path, sizeof path, "/proc/%d/uid_map", child);
        write_file(op->code, path, uid_map);
    }
    if (*gid_map) {
        snprintf(path, sizeof path, "/proc/%d/gid_map", child);
        write_file(op->code, path, gid_map);
    }
    send_msg("pid %d", child);
    char go[32];
    int golen = snprintf(go, sizeof go, "g%d", child); /* the child learns its pid in our namespace */
    if (write_all(go_fd, go, golen) < 0)
        fail(op->code, errno, "release the container process");
    close(go_fd);
    if (!wait)
        _exit(0);
    close(sync_fd);
    if (sync_in != sync_fd)
        close(sync_in);
    /* Forward termination signals to the container process while we wait for it. */
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR)
            _exit(255);
    }
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    _exit(128 + WTERMSIG(status));
}

/* Moves fd to descriptor number slot, close-on-exec. */
static void place(const struct op *op, int fd, int slot)
{
    if (fd == slot) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        return;
    }
    if (dup3(fd, slot, O_CLOEXEC) < 0)
        fail(op->code, errno, "place descriptor at %d", slot);
    close(fd);
}

/* Makes DIR/in and DIR/out and opens them in the order the runtime opens their other ends. */
static void open_fifos(const char *dir)
{
    char in[4096], out[4096];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    if (mkfifo(in, 0600) < 0)
        fail(0, errno, "mkfifo %s", in);
    if (mkfifo(out, 0600) < 0)
        fail(0, errno, "mkfifo %s", out);
    do
        sync_in = open(in, O_RDONLY | O_CLOEXEC);
    while (sync_in < 0 && errno == EINTR);
    if (sync_in < 0)
        fail(0, errno, "open %s", in);
    do
        sync_fd = open(out, O_WRONLY | O_CLOEXEC);
    while (sync_fd < 0 && errno == EINTR);
    if (sync_fd < 0)
        fail(0, errno, "open %s", out);
}

static int connect_unix(const struct op *op, const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path)
        fail(op ? op->code : 0, ENAMETOOLONG, "socket path %s", path);
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail(op ? op->code : 0, errno, "socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        fail(op ? op->code : 0, errno, "connect to %s", path);
    return fd;
}

static long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* after ") " come fields 3..; the start time is field 22 */
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtol(p, NULL, 10);
}

/* "signal SIG PID[:STARTTIME]...": 0 when all were signalled, 3 when one was gone, 1 on error. */
static int signal_mode(int argc, char **argv)
{
    int sig = atoi(argv[2]);
    int rc = 0;
    for (int i = 3; i < argc; i++) {
        char *colon;
        pid_t pid = strtol(argv[i], &colon, 10);
        long start = *colon == ':' ? strtol(colon + 1, NULL, 10) : 0;
        int pidfd = syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
            if (errno != ESRCH) {
                fprintf(stderr, "pidfd_open %d: %s\n", pid, strerror(errno));
                rc = 1;
            } else if (rc == 0) {
                rc = 3;
            }
            continue;
        }
        /* The pidfd pins the process: checking its start time now is free of races. */
        if (start && proc_start_time(pid) != start) {
            if (rc == 0)
                rc = 3;
        } else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
            if (errno == ESRCH) {
                if (rc == 0)
                    rc = 3;
            } else {
                fprintf(stderr, "signal %d to %d: %s\n", sig, pid, strerror(errno));
                rc = 1;
            }
        }
        close(pidfd);
    }
    return rc;
}

int main(int argc, char **argv, char **envp)
{
    if (argc >= 3 && strcmp(argv[1], "signal") == 0)
        return signal_mode(argc, argv);
    if (argc != 3 || (strcmp(argv[1], "fifo") != 0 && strcmp(argv[1], "fd") != 0)) {
        fprintf(stderr, "vessel-launch: run by vessel-runtime, not by hand\n");
        return 2;
    }
    ensure_sealed_copy(argv, envp);
    exit_code_on_error = 2;
    signal(SIGPIPE, SIG_IGN); /* a runtime that went away is an error to report, not a signal */
    if (strcmp(argv[1], "fifo") == 0) {
        open_fifos(argv[2]);
    } else {
        sync_fd = sync_in = atoi(argv[2]);
        fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
    }
    uint32_t count;
    struct op *ops = read_plan(sync_in, &count);
    /* Joining a mount or pid namespace changes what /proc shows: open every namespace first,
     * above the descriptor numbers the plan places things at (which would close them). */
    int above = 3;
    for (uint32_t i = 0; i < count; i++)
        if ((ops[i].code == OP_OPEN_PATH || ops[i].code == OP_CONNECT) && num(&ops[i], 0) >= (uint64_t)above)
            above = num(&ops[i], 0) + 1;
    for (uint32_t i = 0; i < count; i++) {
        if (ops[i].code == OP_SETNS) {
            int fd = open(str(&ops[i], 0), O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                fail(OP_SETNS, errno, "open %s", str(&ops[i], 0));
            if (fd < above) {
                ops[i].fd = fcntl(fd, F_DUPFD_CLOEXEC, above);
                if (ops[i].fd < 0)
                    fail(OP_SETNS, errno, "move the descriptor of %s", str(&ops[i], 0));
                close(fd);
            } else {
                ops[i].fd = fd;
            }
        }
    }

    for (uint32_t i = 0; i < count; i++) {
        const struct op *op = &ops[i];
        switch (op->code) {
        case OP_CONFIG:
            preserved_fds = num(op, 0);
            break;
        case OP_MKFIFO:
            /* chmod too: mkfifo's mode is cut by the umask, and the init may open the FIFO
             * as the container's user. */
            if (mkfifo(str(op, 0), num(op, 1)) < 0 || chmod(str(op, 0), num(op, 1)) < 0)
                fail(op->code, errno, "%s", str(op, 0));
            break;
        case OP_OPEN_PATH: {
            int fd = open(str(op, 1), O_PATH | O_CLOEXEC);
            if (fd < 0)
                fail(op->code, errno, "%s", str(op, 1));
            place(op, fd, num(op, 0));
            break;
        }
        case OP_CONNECT:
            place(op, connect_unix(op, str(op, 1)), num(op, 0));
            break;
        case OP_JOIN_CGROUP: {
            char pid[32];
            snprintf(pid, sizeof pid, "%d", getpid());
            write_file(op->code, str(op, 0), pid);
            break;
        }
        case OP_SETNS:
            if (setns(op->fd, num(op, 1)) < 0)
                fail(op->code, errno, "join %s", str(op, 0));
            close(op->fd);
            break;
        case OP_UNSHARE:
            if (unshare(num(op, 0)) < 0)
                fail(op->code, errno, "unshare 0x%llx", (unsigned long long)num(op, 0));
            break;
        case OP_WRITE_FILE:
            write_file(op->code, str(op, 0), str(op, 1));
            break;
        case OP_CLONE: {
            int go[2];
            if (pipe2(go, O_CLOEXEC) < 0)
                fail(op->code, errno, "pipe");
            struct clone_args ca = { .flags = num(op, 0), .exit_signal = SIGCHLD };
            pid_t child = syscall(SYS_clone3, &ca, sizeof ca);
            if (child < 0)
                fail(op->code, errno, "clone3 with flags 0x%llx", (unsigned long long)ca.flags);
            if (child > 0) {
                close(go[0]);
                parent_after_clone(op, child, go[1]);
            }
            close(go[1]);
            stage = "init";
            exit_code_on_error = 1;
            char g[32] = { 0 };
            ssize_t n;
            do
                n = read(go[0], g, sizeof g - 1);
            while (n < 0 && errno == EINTR);
            if (n < 2 || g[0] != 'g')
                fail(op->code, 0, "the launcher died before releasing the container process");
            host_pid = atoi(g + 1);
            close(go[0]);
            break;
        }
        case OP_SETSID:
            if (setsid() < 0)
                fail(op->code, errno, "setsid");
            break;
        case OP_SETHOSTNAME:
            if (sethostname(str(op, 0), strlen(str(op, 0))) < 0)
                fail(op->code, errno, "%s", str(op, 0));
            break;
        case OP_SETDOMAINNAME:
            if (setdomainname(str(op, 0), strlen(str(op, 0))) < 0)
                fail(op->code, errno, "%s", str(op, 0));
            break;
        case OP_MOUNT:
            do_mount(op);
            break;
        case OP_MKNOD:
            do_mknod(op);
            break;
        case OP_SYMLINK:
            do_symlink(op);
            break;
        case OP_ROOT_PROPAGATION:
            if (mount(NULL, "/", NULL, num(op, 0), NULL) < 0)
                fail(op->code, errno, "set propagation 0x%llx on /", (unsigned long long)num(op, 0));
            break;
        case OP_PIVOT_ROOT:
            do_pivot_root(op);
            break;
        case OP_MOVE_CHROOT:
            do_move_chroot(op);
            break;
        case OP_MASK:
            do_mask(op);
            break;
        case OP_READONLY:
            do_readonly(op);
            break;
        case OP_CONSOLE:
            do_console(op);
            break;
        case OP_SYNC:
            do_sync(op);
            break;
        case OP_RUN_HOOK:
            do_hook(op);
            break;
        case OP_SETRLIMIT: {
            struct rlimit rl = { .rlim_cur = num(op, 1), .rlim_max = num(op, 2) };
            if (setrlimit(num(op, 0), &rl) < 0)
                fail(op->code, errno, "resource %llu to soft %s hard %s", (unsigned long long)num(op, 0),
                     str(op, 1), str(op, 2));
            break;
        }
        case OP_UMASK:
            umask(num(op, 0));
            break;
        case OP_USER:
            do_user(op);
            break;
        case OP_CAPS:
            do_caps(op);
            break;
        case OP_NO_NEW_PRIVS:
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                fail(op->code, errno, "set");
            break;
        case OP_SECCOMP:
            do_seccomp(op);
            break;
        case OP_CHDIR:
            do_chdir(op);
            break;
        case OP_LOOKUP_EXEC:
            do_lookup_exec(op);
            break;
        case OP_WAIT_START:
            do_wait_start(op);
            break;
        case OP_EXEC:
            do_exec(op); /* does not return */
        case OP_DUMPABLE:
            if (prctl(PR_SET_DUMPABLE, num(op, 0), 0, 0, 0) < 0)
                fail(op->code, errno, "set dumpable");
            break;
        case OP_MOUNT_SETATTR:
            do_mount_setattr(op);
            break;
        case OP_PERSONALITY:
            if (personality(num(op, 0)) < 0)
                fail(op->code, errno, "domain 0x%llx", (unsigned long long)num(op, 0));
            break;
        case OP_JOIN_KEYRING:
            do_join_keyring(op);
            break;
        default:
            fail(op->code, 0, "unknown operation %u in the plan", op->code);
        }
    }
    fail(0, 0, "the plan ended without exec");
}
