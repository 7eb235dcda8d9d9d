/*
 * vessel-runtime: the command that users, podman, containerd and CRI-O call. A small front end
 * for the runtime service (io.vessel.runtime.service.RuntimeService), a JVM kept warm per user
 * that makes every decision. This program decides nothing about containers:
 *
 *  1. It connects to the service's socket (starting the service when there is none) and sends
 *     its argv, cwd and environment with its stdin, stdout, stderr and the descriptors the
 *     command passes on (--preserve-fds, LISTEN_FDS) attached (SCM_RIGHTS).
 *  2. When the command needs a launcher, the service asks; this process forks and execs
 *     vessel-launch with a socket whose other end goes to the service. The container's
 *     processes so descend from the caller exactly as with runc (conmon relies on being their
 *     subreaper), and the launcher has the caller's own stdio.
 *  3. It reports how its launchers end, relays the signals it gets, and exits with the status
 *     the service sends.
 *
 * If the service cannot be reached or started, it execs the cold path: the vessel-runtime
 * script, which runs the same command line in a JVM of its own. Nothing breaks, it is only slower.
 *
 * Protocol: one SOCK_SEQPACKET message per message; see Request.java and ClientSession.java.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAGIC "vessel-runtime-request 1"
/* The service receives at most 16 descriptors with a message (Sockets.receive): stdio + 13. */
#define MAX_PASSED_FDS 16
#define STDIO_FDS 3
/* The service refuses requests of 1 MiB or more (ClientSession.MAX_REQUEST). */
#define MAX_REQUEST (1 << 20)
#define MAX_MESSAGE 4096
/* How long a service that is starting (a JVM, on a possibly busy machine) may take to listen. */
#define SERVICE_START_MS 30000
#define CONNECT_RETRY_MS 5
#define MAX_LAUNCHERS 16
/* What a would-be service writes to the start pipe when a subreaper, not init, would adopt it. */
#define SUBREAPER_ADOPTS "S"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define NFORWARDED ((int)(sizeof forwarded / sizeof forwarded[0]))

static char **saved_argv;
static sigset_t original_mask;
static char exe_dir[PATH_MAX];
/* sun_path holds 108 bytes: the socket's directory must be shorter than that anyway */
#define SERVICE_DIR_MAX 108
static char service_dir[SERVICE_DIR_MAX];
static char socket_path[SERVICE_DIR_MAX + 48];
static char log_path[SERVICE_DIR_MAX + 48];
static int launchers[MAX_LAUNCHERS];
static int nlaunchers;

static void warn(const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    dprintf(2, "vessel-runtime: %s\n", buf);
}

/* The cold path: the vessel-runtime script runs the command in a JVM of its own. */
static void __attribute__((noreturn)) cold(void)
{
    char path[PATH_MAX + 32];
    const char *candidates[] = {"%s/vessel-runtime-cold", "%s/../vessel-runtime"};
    sigprocmask(SIG_SETMASK, &original_mask, NULL);
    setenv("VESSEL_RUNTIME_COLD", "1", 1);
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        snprintf(path, sizeof path, candidates[i], exe_dir);
        if (access(path, X_OK) == 0) {
            execv(path, saved_argv);
            warn("cannot run the cold path %s: %s", path, strerror(errno));
        }
    }
    warn("no runtime service and no cold path (vessel-runtime-cold or ../vessel-runtime next to %s)", exe_dir);
    exit(1);
}

static void find_exe_dir(void)
{
    ssize_t n = readlink("/proc/self/exe", exe_dir, sizeof exe_dir - 1);
    if (n <= 0) {
        warn("cannot read /proc/self/exe: %s", strerror(errno));
        exit(1);
    }
    exe_dir[n] = 0;
    char *slash = strrchr(exe_dir, '/');
    if (slash)
        *slash = 0;
}

/* FNV-1a, 64 bits: a name for a build, not a defence (the socket's directory is that). */
static unsigned long long fnv(unsigned long long h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/*
 * Which build this is: where it is installed and the identity of its jars. Each build has a
 * service of its own (another worktree's or an older install's service runs other code), and a
 * rebuilt or reinstalled jar gets a new one while the old one idles out.
 */
static unsigned long long build_identity(void)
{
    static const char *jars[] = {"lib/vessel-runtime.jar", "lib/vessel-linux.jar", "vessel-launch", "vessel-runtime"};
    unsigned long long h = fnv(0xcbf29ce484222325ULL, exe_dir, strlen(exe_dir));
    for (size_t i = 0; i < sizeof jars / sizeof jars[0]; i++) {
        char path[PATH_MAX + 32];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", exe_dir, jars[i]);
        if (stat(path, &st) == 0) {
            long long id[] = {(long long)st.st_dev, (long long)st.st_ino, (long long)st.st_size,
                              (long long)st.st_mtim.tv_sec, (long long)st.st_mtim.tv_nsec};
            h = fnv(h, id, sizeof id);
        }
    }
    return h;
}

/*
 * Where the service's socket lives: $VESSEL_RUNTIME_SERVICE_DIR, else /run/vessel-runtime/service
 * for root, $XDG_RUNTIME_DIR/vessel-runtime or /tmp/vessel-runtime-UID for others. The directory
 * must be this user's and closed to everyone else; returns 0 when it is (made if missing).
 */
static int prepare_service_dir(void)
{
    uid_t uid = geteuid();
    const char *dir = getenv("VESSEL_RUNTIME_SERVICE_DIR");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (dir && *dir)
        n = snprintf(service_dir, sizeof service_dir, "%s", dir);
    else if (uid == 0) {
        mkdir("/run/vessel-runtime", 0700);
        n = snprintf(service_dir, sizeof service_dir, "/run/vessel-runtime/service");
    } else if (xdg && *xdg)
        n = snprintf(service_dir, sizeof service_dir, "%s/vessel-runtime", xdg);
    else
        n = snprintf(service_dir, sizeof service_dir, "/tmp/vessel-runtime-%u", (unsigned)uid);
    if (n >= (int)sizeof service_dir) {
        warn("not using the runtime service: its directory %s... is too long for a socket path", service_dir);
        return -1;
    }
    if (mkdir(service_dir, 0700) < 0 && errno != EEXIST) {
        warn("cannot make the service directory %s: %s", service_dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(service_dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077)) {
        warn("not using the runtime service: %s must be a directory of uid %u with mode 0700", service_dir,
             (unsigned)uid);
        return -1;
    }
    unsigned long long build = build_identity();
    n = snprintf(socket_path, sizeof socket_path, "%s/service-%u-%016llx.sock", service_dir, (unsigned)uid, build);
    snprintf(log_path, sizeof log_path, "%s/service-%u-%016llx.log", service_dir, (unsigned)uid, build);
    if (n >= (int)sizeof(((struct sockaddr_un *)0)->sun_path)) {
        warn("not using the runtime service: socket path %s is too long", socket_path);
        return -1;
    }
    return 0;
}

/* A connected socket to the service, or -1 with errno. The peer must be this user. */
static int try_connect(void)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1); /* its length was checked in prepare_service_dir */
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid()) {
        warn("not using the runtime service at %s: it runs as uid %d, not %u", socket_path, (int)cred.uid,
             (unsigned)geteuid());
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* True when a service holds its lock: it is running or starting. */
static int service_lock_held(void)
{
    char lock[sizeof socket_path + 8];
    snprintf(lock, sizeof lock, "%s.lock", socket_path);
    int fd = open(lock, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return held;
}

/*
 * Starts a service: double fork and setsid, so that it is nobody's child and in no one's session,
 * stdin from /dev/null, output to a log beside the socket, and descriptor 3 the write end of a
 * pipe whose read end is returned: it reads end-of-file once that service has exited.
 */
static int start_service(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &original_mask, NULL);
        setsid();
        pid_t middle = getpid();
        if (fork() != 0)
            _exit(0);
        /* Orphaned: init adopts us, unless a child subreaper above (podman's conmon, a shim) does.
           That one would have a JVM as its child for minutes, and may wait for it before it exits:
           then there is no service from here (the caller runs the command cold), only from a
           caller without a subreaper above it. */
        for (int i = 0; i < 10000 && getppid() == middle; i++)
            usleep(100);
        if (getppid() != 1) {
            if (write(p[1], SUBREAPER_ADOPTS, 1) < 0)
                _exit(126);
            _exit(0);
        }
        const char *log = log_path;
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (null < 0 || out < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(127);
        if (p[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(p[1], 3) < 0)
            _exit(127);
        syscall(SYS_close_range, 4U, ~0U, 0U);
        if (chdir("/") < 0)
            _exit(127);
        /* the usual umask, not the caller's nor a private one: the service makes cgroups and state
           that other users (a user namespace's root) must be able to traverse, as with runc */
        umask(022);
        setenv("VESSEL_RUNTIME_SERVE", socket_path, 1);
        unsetenv("VESSEL_RUNTIME_COLD");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        char path[PATH_MAX + 32];
        char *argv[] = {"vessel-runtime-service", NULL};
        snprintf(path, sizeof path, "%s/vessel-runtime-cold", exe_dir);
        if (access(path, X_OK) != 0)
            snprintf(path, sizeof path, "%s/../vessel-runtime", exe_dir);
        execv(path, argv);
        dprintf(2, "vessel-runtime: cannot start the runtime service with %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    waitpid(pid, NULL, 0);
    return p[0];
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* A connection to the service, starting one if there is none; -1 if none can be had. */
static int connect_service(void)
{
    int fd = try_connect();
    if (fd >= 0 || (errno != ENOENT && errno != ECONNREFUSED))
        return fd;
    int exited = start_service();
    if (exited < 0)
        return -1;
    long deadline = now_ms() + SERVICE_START_MS;
    int ours_gone = 0;
    while (now_ms() < deadline) {
        struct pollfd pfd = {.fd = exited, .events = POLLIN};
        if (!ours_gone && poll(&pfd, 1, CONNECT_RETRY_MS) > 0) {
            char why = 0;
            if (read(exited, &why, 1) == 1 && why == SUBREAPER_ADOPTS[0]) {
                close(exited);
                errno = ECHILD;
                return -1; /* no service under a subreaper: quietly cold */
            }
            ours_gone = 1; /* it exited: it lost the start to another one, or it failed */
        } else if (ours_gone)
            usleep(CONNECT_RETRY_MS * 1000);
        fd = try_connect();
        if (fd >= 0 || (errno != ENOENT && errno != ECONNREFUSED))
            break;
        if (ours_gone && !service_lock_held()) {
            warn("the runtime service did not start (see %s); running without it", log_path);
            break;
        }
    }
    close(exited);
    return fd;
}

/* Appends a NUL-terminated field; -1 when the request would be too large. */
static int field(char *buf, size_t *len, const char *s)
{
    size_t n = strlen(s) + 1;
    if (*len + n >= MAX_REQUEST)
        return -1;
    memcpy(buf + *len, s, n);
    *len += n;
    return 0;
}

static int send_with_fds(int sock, const void *data, size_t len, const int *fds, int nfds)
{
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t r;
    do
        r = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

static int send_text(int sock, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return send_with_fds(sock, buf, n, NULL, 0);
}

/* How many descriptors beyond stdio the command passes on: --preserve-fds N and LISTEN_FDS (runc's). */
static int extra_fds(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if ((!strcmp(a, "--preserve-fds") || !strcmp(a, "-preserve-fds")) && i + 1 < argc)
            n = atoi(argv[i + 1]);
        else if (!strncmp(a, "--preserve-fds=", 15))
            n = atoi(a + 15);
        else if (!strncmp(a, "-preserve-fds=", 14))
            n = atoi(a + 14);
    }
    const char *lf = getenv("LISTEN_FDS"), *lp = getenv("LISTEN_PID");
    if (lf && lp && atoi(lp) == getpid())
        n += atoi(lf);
    return n < 0 ? 0 : n;
}

/* The runtime's launcher as this process's child: stdio and 3..3+preserved-1 ours, its socket next. */
static void launch(int conn, int preserved, const char *path)
{
    int sv[2];
    if (preserved < 0 || preserved > MAX_PASSED_FDS - STDIO_FDS || nlaunchers == MAX_LAUNCHERS) {
        send_text(conn, "launch-failed too many descriptors or launchers");
        return;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        send_text(conn, "launch-failed socketpair: %s", strerror(errno));
        return;
    }
    int slot = STDIO_FDS + preserved;
    pid_t pid = fork();
    if (pid < 0) {
        send_text(conn, "launch-failed fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &original_mask, NULL);
        if (sv[1] == slot ? fcntl(slot, F_SETFD, 0) < 0 : dup2(sv[1], slot) < 0)
            _exit(127);
        syscall(SYS_close_range, (unsigned)slot + 1, ~0U, 0U);
        char num[16];
        snprintf(num, sizeof num, "%d", slot);
        char *argv[] = {"vessel-launch", "fd", num, NULL};
        char *envp[] = {NULL};
        execve(path, argv, envp);
        dprintf(2, "vessel-runtime: cannot run the launcher %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(sv[1]);
    launchers[nlaunchers++] = pid;
    char msg[64];
    int n = snprintf(msg, sizeof msg, "launched %d", (int)pid);
    send_with_fds(conn, msg, n, &sv[0], 1);
    close(sv[0]);
}

/* Reaps children; tells the service how its launchers ended (shell convention). */
static void reap(int conn)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < nlaunchers; i++) {
            if (launchers[i] != pid)
                continue;
            launchers[i] = launchers[--nlaunchers];
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            send_text(conn, "exited %d %d", (int)pid, code);
            break;
        }
    }
}

/* A signal the command does not wait for: take it as if it had never been blocked. */
static void take_signal(int sig)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    signal(sig, SIG_DFL);
    raise(sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    sigprocmask(SIG_BLOCK, &one, NULL); /* still here: its default is to be ignored */
}

/* Sends the request; 1 when the service accepted it, 0 when it closed without answer, -1 on refusal. */
static int send_request(int conn, const char *req, size_t len, const int *fds, int nfds)
{
    if (send_with_fds(conn, req, len, fds, nfds) < 0) {
        if (errno == EMSGSIZE)
            return -1;
        return 0;
    }
    char buf[MAX_MESSAGE + 1];
    ssize_t n;
    do
        n = recv(conn, buf, MAX_MESSAGE, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    if (!strcmp(buf, "ok"))
        return 1;
    warn("the runtime service refused the request: %s", strncmp(buf, "refused ", 8) ? buf : buf + 8);
    return -1;
}

int main(int argc, char **argv)
{
    saved_argv = argv;
    sigprocmask(SIG_SETMASK, NULL, &original_mask);
    find_exe_dir();
    const char *c = getenv("VESSEL_RUNTIME_COLD");
    if ((c && *c) || prepare_service_dir() < 0)
        cold();

    /* stdio must be open to be passed: a closed one becomes /dev/null, as runc's would read nothing */
    for (int fd = 0; fd < STDIO_FDS; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            int n = open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
    }
    int extra = extra_fds(argc, argv);
    if (extra > MAX_PASSED_FDS - STDIO_FDS)
        cold();
    int nfds = STDIO_FDS + extra;
    int fds[MAX_PASSED_FDS];
    for (int i = 0; i < nfds; i++)
        fds[i] = i;

    char *req = malloc(MAX_REQUEST);
    char cwd[PATH_MAX], num[32];
    size_t len = 0;
    if (!req || !getcwd(cwd, sizeof cwd))
        cold();
    int bad = field(req, &len, REQUEST_MAGIC);
    snprintf(num, sizeof num, "%d", nfds);
    bad |= field(req, &len, num);
    bad |= field(req, &len, cwd);
    snprintf(num, sizeof num, "%d", argc - 1);
    bad |= field(req, &len, num);
    for (int i = 1; i < argc; i++)
        bad |= field(req, &len, argv[i]);
    extern char **environ;
    int envc = 0;
    while (environ[envc])
        envc++;
    snprintf(num, sizeof num, "%d", envc);
    bad |= field(req, &len, num);
    for (int i = 0; i < envc; i++)
        bad |= field(req, &len, environ[i]);
    if (bad)
        cold();

    /* from here every signal we relay, and SIGCHLD, is read from a signalfd: none is lost */
    sigset_t mask;
    sigemptyset(&mask);
    for (int i = 0; i < NFORWARDED; i++)
        sigaddset(&mask, forwarded[i]);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0)
        cold();

    int conn = -1;
    for (int attempt = 0; attempt < 2 && conn < 0; attempt++) {
        /* a service that is exiting closes our connection unanswered: the second attempt starts a new one */
        conn = connect_service();
        if (conn < 0)
            break;
        int r = send_request(conn, req, len, fds, nfds);
        if (r < 0) {
            close(conn);
            cold();
        }
        if (r == 0) {
            close(conn);
            conn = -1;
        }
    }
    if (conn < 0)
        cold();
    free(req);

    char buf[MAX_MESSAGE + 1];
    for (;;) {
        struct pollfd p[2] = {{.fd = conn, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            warn("poll: %s", strerror(errno));
            return 1;
        }
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                    reap(conn);
                else
                    send_text(conn, "signal %u", si.ssi_signo);
            }
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(conn, buf, MAX_MESSAGE, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            warn("the runtime service ended during the command (see %s)", log_path);
            return 1;
        }
        buf[n] = 0;
        int a, b, at = 0;
        if (sscanf(buf, "exit %d", &a) == 1)
            return a;
        if (sscanf(buf, "launch %d %n", &a, &at) == 1 && at > 0 && buf[at] == '/')
            launch(conn, a, buf + at); /* the path is the rest of the message */
        else if (sscanf(buf, "kill %d", &a) == 1) {
            for (int i = 0; i < nlaunchers; i++)
                if (launchers[i] == a)
                    kill(a, SIGKILL);
        } else if (sscanf(buf, "unhandled %d", &b) == 1)
            take_signal(b);
        else
            warn("unexpected message from the runtime service: %s", buf);
    }
}
