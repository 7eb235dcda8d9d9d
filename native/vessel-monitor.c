/*
 * vessel-monitor: the per-container monitor of Vessel's engine (what conmon is to podman).
 *
 * The engine is a JVM that may be restarted or may crash; a container must not notice. This
 * small process is started once per container run (and once per exec), detaches from the
 * engine (double fork, own session), becomes a child subreaper, and starts the runtime's
 * launcher as its own child, so the container process ends up as its child when the launcher
 * exits. It then owns, for the container's whole life:
 *   - its stdio: pipes (or the pty master, received on a console socket, for a terminal);
 *   - its log: one json-file entry per line, {"log":"...\n","stream":"stdout","time":"..."},
 *     rotated at a maximum size into a number of files (Docker's max-size and max-file);
 *   - its exit status, written atomically (temp file, fsync, rename) to the exit file;
 *   - an attach socket where clients get the output and send stdin (see "Attach protocol").
 * It decides nothing about the container: the engine (Java) drives the runtime.
 *
 * Invocation (by the engine, never by hand):
 *   vessel-monitor -s SOCKDIR [-l LOG] [-m MAXSIZE] [-n MAXFILES] -x EXITFILE [-t] [-i] -- LAUNCHER ARGS...
 * with descriptor 3 the launcher's sync socket (passed to it as its descriptor 3) and 4 the
 * control socket to the engine. SOCKDIR gets the sockets "a" (attach) and, with -t, "c" (the
 * console socket the container's init sends the pty master to).
 *
 * Control socket (descriptor 4), lines:
 *   monitor -> engine: "monitor PID LAUNCHER_PID" (listening, launcher forked), "launcher-exit N",
 *                      "error WHAT" (then exits 1).
 *   engine -> monitor: "pid N" (the container process). EOF from the engine without a pid means
 *                      the create failed: the monitor exits once its children are gone.
 *
 * Attach protocol (socket "a"): the client sends one line, then:
 *   "attach FLAGS"  FLAGS among i (send stdin), o (want stdout), e (want stderr), c (close the
 *                   container's stdin when this client's input ends). Reply "ok\n"; then output
 *                   flows: raw bytes with a terminal, else Docker's multiplexed frames (8-byte
 *                   header: stream 1|2, three zero bytes, big-endian u32 length). A client that
 *                   does not keep up (its socket buffer full) is dropped, never waited for.
 *   "resize R C"    sets the terminal's size; reply "ok\n" or "error ...\n".
 *   "wait"          reply "exit N\n" (N in the shell's convention) once the status is written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
    SYNC_FD = 3,           /* the launcher's sync socket, given to it at the same number */
    CONTROL_FD = 4,        /* the engine's control socket */
    MAX_CLIENTS = 64,
    LINE_MAX_BYTES = 16384, /* Docker's json-file splits longer lines into entries of this size */
    READ_CHUNK = 32768,
    DRAIN_TIMEOUT_MS = 2000, /* after the container exits, output still open this long is cut */
    MAX_EARLY = 32,        /* children reaped before the engine named the container process */
};

enum client_kind { C_HEADER, C_ATTACH, C_WAIT };

struct client {
    int fd;
    enum client_kind kind;
    int in, out, err, close_stdin, in_done;
    char line[128];
    size_t len;
};

struct stream {
    int fd;               /* -1 once at EOF */
    const char *name;     /* "stdout" or "stderr" */
    int frame;            /* multiplexed stream number */
    char partial[LINE_MAX_BYTES];
    size_t len;
};

static const char *log_path;
static int log_fd = -1;
static long long log_size, max_size = -1;
static int max_files = 1;
static int tty;
static int master = -1;   /* the pty master, with -t */
static int want_stdin;    /* -i: the container's stdin is open to attachers */
static int stdin_fd = -1; /* the write end of the container's stdin (with -t the master, once received) */
static char pending[READ_CHUNK];
static size_t pending_len;
static struct client clients[MAX_CLIENTS];
static int nclients;
static struct stream streams[2] = { { -1, "stdout", 1, {0}, 0 }, { -1, "stderr", 2, {0}, 0 } };
static int control = CONTROL_FD;

static void say(const char *fmt, ...)
{
    if (control < 0)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    buf[n++] = '\n';
    if (send(control, buf, n, MSG_NOSIGNAL) < 0) {
        close(control);
        control = -1;
    }
}

static void __attribute__((noreturn)) die(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (errno)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ": %s", strerror(errno));
    fprintf(stderr, "vessel-monitor: %s\n", buf);
    say("error %s", buf);
    exit(1);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= w;
    }
    return 0;
}

static int listen_at(const char *name)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        die("socket");
    unlink(name);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0)
        die("listen on %s", name);
    return s;
}

/* RFC 3339 with nanoseconds, UTC, as Docker's json-file writes "time". */
static void now_rfc3339(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%09ldZ", ts.tv_nsec);
}

static void open_log(void)
{
    log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log_fd < 0)
        die("open %s", log_path);
    struct stat st;
    log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

/* LOG -> LOG.1 -> ... -> LOG.(max_files-1); with one file, the log starts over. */
static void rotate(void)
{
    close(log_fd);
    if (max_files <= 1) {
        if (truncate(log_path, 0) < 0)
            fprintf(stderr, "vessel-monitor: truncate %s: %s\n", log_path, strerror(errno));
    } else {
        char from[4096], to[4096];
        for (int i = max_files - 1; i >= 1; i--) {
            if (i == 1)
                snprintf(from, sizeof from, "%s", log_path);
            else
                snprintf(from, sizeof from, "%s.%d", log_path, i - 1);
            snprintf(to, sizeof to, "%s.%d", log_path, i);
            rename(from, to); /* a missing older file is fine */
        }
    }
    open_log();
}

/* One json-file entry; control characters escaped, other bytes as they are. */
static void log_entry(const struct stream *s, const char *p, size_t n)
{
    if (log_fd < 0)
        return;
    static char buf[LINE_MAX_BYTES * 6 + 256];
    size_t k = 0;
    k += snprintf(buf + k, sizeof buf - k, "{\"log\":\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            buf[k++] = '\\';
            buf[k++] = c;
        } else if (c == '\n') {
            buf[k++] = '\\';
            buf[k++] = 'n';
        } else if (c == '\r') {
            buf[k++] = '\\';
            buf[k++] = 'r';
        } else if (c == '\t') {
            buf[k++] = '\\';
            buf[k++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            k += snprintf(buf + k, sizeof buf - k, "\\u%04x", c);
        } else {
            buf[k++] = c;
        }
    }
    char t[64];
    now_rfc3339(t, sizeof t);
    k += snprintf(buf + k, sizeof buf - k, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", s->name, t);
    if (max_size > 0 && log_size > 0 && log_size + (long long)k > max_size)
        rotate();
    if (write_all(log_fd, buf, k) < 0)
        fprintf(stderr, "vessel-monitor: write %s: %s\n", log_path, strerror(errno));
    else
        log_size += k;
}

/* Splits output into lines (and LINE_MAX_BYTES pieces) for the log. */
static void log_output(struct stream *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->partial[s->len++] = p[i];
        if (p[i] == '\n' || s->len == LINE_MAX_BYTES) {
            log_entry(s, s->partial, s->len);
            s->len = 0;
        }
    }
}

static void drop_client(int i)
{
    close(clients[i].fd);
    clients[i] = clients[--nclients];
}

static void broadcast(const struct stream *s, const char *p, size_t n)
{
    unsigned char hdr[8] = { s->frame, 0, 0, 0, n >> 24, n >> 16, n >> 8, n };
    for (int i = 0; i < nclients; i++) {
        struct client *c = &clients[i];
        if (c->kind != C_ATTACH || (s->frame == 1 ? !c->out : !c->err))
            continue;
        struct iovec iov[2] = { { hdr, 8 }, { (void *)p, n } };
        struct msghdr m = { .msg_iov = tty ? iov + 1 : iov, .msg_iovlen = tty ? 1 : 2 };
        ssize_t want = tty ? (ssize_t)n : (ssize_t)n + 8;
        if (sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != want)
            drop_client(i--); /* gone, or too slow to be waited for */
    }
}

static void close_stdin(void)
{
    if (stdin_fd >= 0 && !tty) {
        close(stdin_fd);
        stdin_fd = -1;
    }
}

static void client_line(int i)
{
    struct client *c = &clients[i];
    c->line[c->len] = 0;
    int rows, cols;
    if (strncmp(c->line, "attach ", 7) == 0) {
        c->kind = C_ATTACH;
        c->in = strchr(c->line + 7, 'i') != NULL && want_stdin && (tty || stdin_fd >= 0);
        c->out = strchr(c->line + 7, 'o') != NULL;
        c->err = strchr(c->line + 7, 'e') != NULL;
        c->close_stdin = strchr(c->line + 7, 'c') != NULL;
        c->in_done = !c->in;
        send(c->fd, "ok\n", 3, MSG_NOSIGNAL);
    } else if (strcmp(c->line, "wait") == 0) {
        c->kind = C_WAIT;
    } else if (sscanf(c->line, "resize %d %d", &rows, &cols) == 2) {
        struct winsize ws = { .ws_row = rows, .ws_col = cols };
        if (master < 0)
            send(c->fd, "error the container has no terminal\n", 36, MSG_NOSIGNAL);
        else if (ioctl(master, TIOCSWINSZ, &ws) < 0)
            send(c->fd, "error resize failed\n", 20, MSG_NOSIGNAL);
        else
            send(c->fd, "ok\n", 3, MSG_NOSIGNAL);
        drop_client(i);
    } else {
        send(c->fd, "error unknown request\n", 22, MSG_NOSIGNAL);
        drop_client(i);
    }
}

/* Input from a client: its header line, then (attach with stdin) bytes for the container. */
static void client_readable(int i)
{
    struct client *c = &clients[i];
    if (c->kind == C_HEADER) {
        char ch;
        ssize_t n = recv(c->fd, &ch, 1, MSG_DONTWAIT);
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                drop_client(i);
            return;
        }
        if (ch == '\n')
            client_line(i);
        else if (c->len < sizeof c->line - 1)
            c->line[c->len++] = ch;
        else
            drop_client(i);
        return;
    }
    if (c->kind == C_ATTACH && c->in && !c->in_done) {
        if (pending_len > 0)
            return; /* the next round, once the container took what is pending */
        ssize_t n = recv(c->fd, pending, sizeof pending, MSG_DONTWAIT);
        if (n > 0) {
            pending_len = n;
            return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        c->in_done = 1;
        if (c->close_stdin)
            close_stdin();
        if (n < 0)
            drop_client(i);
        return;
    }
    /* Wait clients send nothing: EOF or error means they left. */
    char junk[256];
    ssize_t n = recv(c->fd, junk, sizeof junk, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        drop_client(i);
}

static void write_exit(const char *path, pid_t pid, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    char t[64], tmp[4096], body[256];
    now_rfc3339(t, sizeof t);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(body, sizeof body, "{\"pid\":%d,\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\"}\n",
                     pid, code, sig, t);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || write_all(fd, body, n) < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
        die("write the exit status to %s", path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        int d = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d >= 0) {
            fsync(d);
            close(d);
        }
    }
    char msg[32];
    int len = snprintf(msg, sizeof msg, "exit %d\n", code);
    for (int i = 0; i < nclients; i++)
        if (clients[i].kind == C_WAIT)
            send(clients[i].fd, msg, len, MSG_NOSIGNAL);
}

/* The pty master arrives as SCM_RIGHTS on the console socket. */
static int receive_master(int listener)
{
    int s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        return -1;
    char data[256];
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    ssize_t n;
    do
        n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    close(s);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (n < 0 || !cm || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static void usage(void)
{
    fprintf(stderr, "vessel-monitor: run by the Vessel engine, not by hand\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *sockdir = NULL, *exit_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "s:l:m:n:x:ti")) != -1) {
        switch (opt) {
        case 's': sockdir = optarg; break;
        case 'l': log_path = optarg; break;
        case 'm': max_size = atoll(optarg); break;
        case 'n': max_files = atoi(optarg); break;
        case 'x': exit_path = optarg; break;
        case 't': tty = 1; break;
        case 'i': want_stdin = 1; break;
        default: usage();
        }
    }
    if (!sockdir || !exit_path || optind >= argc || fcntl(SYNC_FD, F_GETFD) < 0 || fcntl(CONTROL_FD, F_GETFD) < 0)
        usage();
    char **launcher = argv + optind;
    fcntl(CONTROL_FD, F_SETFD, FD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);
    mode_t engine_umask = umask(077); /* the monitor's own files are private; its launcher gets the engine's */
    umask(engine_umask);

    /* Detach: the engine reaps the first process at once; the second leads its own session. */
    pid_t first = fork();
    if (first < 0)
        die("fork");
    if (first > 0)
        _exit(0);
    if (setsid() < 0)
        die("setsid");
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        die("become a child subreaper");
    umask(077);
    if (chdir(sockdir) < 0) /* sockets are bound by relative name: sun_path is short */
        die("chdir %s", sockdir);
    if (log_path) {
        open_log();
    }

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        die("signalfd");

    int attach_listener = listen_at("a");
    int console_listener = tty ? listen_at("c") : -1;

    /* The container's stdio, seen from the launcher: with a terminal, the init replaces it. */
    int child_io[3];
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        die("open /dev/null");
    child_io[0] = child_io[1] = child_io[2] = devnull;
    if (!tty) {
        int p[2];
        if (want_stdin) {
            if (pipe2(p, O_CLOEXEC) < 0)
                die("pipe");
            child_io[0] = p[0];
            stdin_fd = p[1];
            fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
        }
        for (int s = 0; s < 2; s++) {
            if (pipe2(p, O_CLOEXEC) < 0)
                die("pipe");
            child_io[1 + s] = p[1];
            streams[s].fd = p[0];
        }
    }

    pid_t launcher_pid = fork();
    if (launcher_pid < 0)
        die("fork the launcher");
    if (launcher_pid == 0) {
        for (int i = 0; i < 3; i++)
            if (dup2(child_io[i], i) < 0) /* dup2 clears close-on-exec on the copies */
                _exit(127);
        fcntl(SYNC_FD, F_SETFD, 0);
        syscall(SYS_close_range, SYNC_FD + 1, ~0U, 0);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        umask(engine_umask); /* directories the runtime makes in the rootfs (mount targets) as runc makes them */
        execv(launcher[0], launcher);
        fprintf(stderr, "vessel-monitor: exec %s: %s\n", launcher[0], strerror(errno));
        _exit(127);
    }
    close(SYNC_FD);
    for (int i = 0; i < 3; i++)
        if (child_io[i] != devnull)
            close(child_io[i]);
    close(devnull);
    say("monitor %d %d", getpid(), launcher_pid);

    pid_t container = 0;
    int exited = 0, status = 0, engine_gone = 0;
    pid_t early_pid[MAX_EARLY];
    int early_status[MAX_EARLY], nearly = 0;
    char ctl_line[64];
    size_t ctl_len = 0;
    struct timespec exit_time = { 0, 0 };

    for (;;) {
        struct pollfd p[8 + MAX_CLIENTS];
        int n = 0;
        int i_sig = n; p[n++] = (struct pollfd){ sfd, POLLIN, 0 };
        int i_ctl = -1, i_att = -1, i_con = -1, i_out[2] = { -1, -1 }, i_stdin = -1;
        if (control >= 0) { i_ctl = n; p[n++] = (struct pollfd){ control, POLLIN, 0 }; }
        if (!exited) { i_att = n; p[n++] = (struct pollfd){ attach_listener, POLLIN, 0 }; }
        if (console_listener >= 0) { i_con = n; p[n++] = (struct pollfd){ console_listener, POLLIN, 0 }; }
        for (int s = 0; s < 2; s++)
            if (streams[s].fd >= 0) { i_out[s] = n; p[n++] = (struct pollfd){ streams[s].fd, POLLIN, 0 }; }
        if (pending_len > 0 && stdin_fd < 0 && (!tty || master >= 0))
            pending_len = 0; /* the container's stdin is closed: input goes nowhere */
        if (pending_len > 0 && stdin_fd >= 0) { i_stdin = n; p[n++] = (struct pollfd){ stdin_fd, POLLOUT, 0 }; }
        int i_cl = n;
        for (int c = 0; c < nclients; c++) {
            /* While stdin input is pending, attachers' input waits (no unbounded buffering). */
            /* An attacher whose input has ended (or never had any) may still want output: it is
             * only watched for hang-up (POLLHUP comes when it closes entirely). */
            const struct client *k = &clients[c];
            short ev = k->kind == C_ATTACH && (k->in_done || pending_len > 0) ? 0 : POLLIN;
            p[n++] = (struct pollfd){ clients[c].fd, ev, 0 };
        }

        int timeout = -1;
        if (exited) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long ms = (now.tv_sec - exit_time.tv_sec) * 1000 + (now.tv_nsec - exit_time.tv_nsec) / 1000000;
            timeout = ms >= DRAIN_TIMEOUT_MS ? 0 : DRAIN_TIMEOUT_MS - ms;
            if (streams[0].fd < 0 && streams[1].fd < 0)
                break;
        }
        int r = poll(p, n, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll");
        if (r == 0 && exited)
            break; /* output still held open by a process that outlived the container: cut */

        if (p[i_sig].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0) {
            }
            int st;
            pid_t w;
            while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
                if (w == launcher_pid) {
                    say("launcher-exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
                } else if (container && w == container) {
                    exited = 1;
                    status = st;
                } else if (!container && nearly < MAX_EARLY) {
                    early_pid[nearly] = w;
                    early_status[nearly++] = st;
                }
            }
            if (exited && !exit_time.tv_sec)
                clock_gettime(CLOCK_MONOTONIC, &exit_time);
            if (engine_gone && !container && w < 0 && errno == ECHILD)
                return 0; /* the create failed and everything it started is gone */
        }
        if (i_ctl >= 0 && p[i_ctl].revents) {
            char ch;
            ssize_t k = read(control, &ch, 1);
            if (k <= 0) {
                close(control);
                control = -1;
                engine_gone = 1;
                if (!container && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
                    return 0;
            } else if (ch != '\n' && ctl_len < sizeof ctl_line - 1) {
                ctl_line[ctl_len++] = ch;
            } else if (ch == '\n') {
                ctl_line[ctl_len] = 0;
                ctl_len = 0;
                int pid;
                if (sscanf(ctl_line, "pid %d", &pid) == 1 && pid > 0) {
                    container = pid;
                    for (int e = 0; e < nearly; e++) {
                        if (early_pid[e] == pid) {
                            exited = 1;
                            status = early_status[e];
                            clock_gettime(CLOCK_MONOTONIC, &exit_time);
                        }
                    }
                }
            }
        }
        if (i_con >= 0 && p[i_con].revents) {
            int fd = receive_master(console_listener);
            if (fd >= 0) {
                master = fd;
                fcntl(fd, F_SETFL, O_NONBLOCK);
                streams[0].fd = fd;
                stdin_fd = want_stdin ? fd : -1;
                close(console_listener);
                console_listener = -1;
                unlink("c");
            }
        }
        for (int s = 0; s < 2; s++) {
            if (i_out[s] < 0 || !p[i_out[s]].revents)
                continue;
            static char buf[READ_CHUNK];
            ssize_t k = read(streams[s].fd, buf, sizeof buf);
            if (k > 0) {
                log_output(&streams[s], buf, k);
                broadcast(&streams[s], buf, k);
            } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                /* EOF (a pty master reads EIO once every slave is closed) */
                if (streams[s].len) {
                    log_entry(&streams[s], streams[s].partial, streams[s].len);
                    streams[s].len = 0;
                }
                if (streams[s].fd != master)
                    close(streams[s].fd);
                streams[s].fd = -1;
            }
        }
        if (i_stdin >= 0 && p[i_stdin].revents) {
            ssize_t k = write(stdin_fd, pending, pending_len);
            if (k > 0) {
                memmove(pending, pending + k, pending_len - k);
                pending_len -= k;
            } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
                pending_len = 0; /* the container closed its stdin */
                close_stdin();
            }
        }
        /* Clients last: each may drop itself, so walk from the end of this round's set. */
        int polled = n - i_cl;
        for (int c = polled - 1; c >= 0; c--) {
            if (c >= nclients || !p[i_cl + c].revents || clients[c].fd != p[i_cl + c].fd)
                continue;
            if (p[i_cl + c].revents & POLLIN)
                client_readable(c);
            else if (p[i_cl + c].revents & (POLLHUP | POLLERR))
                drop_client(c);
        }
        if (i_att >= 0 && p[i_att].revents) {
            int fd = accept4(attach_listener, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                if (nclients == MAX_CLIENTS) {
                    close(fd);
                } else {
                    int big = 1 << 20;
                    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
                    clients[nclients++] = (struct client){ .fd = fd, .kind = C_HEADER };
                }
            }
        }
    }

    for (int s = 0; s < 2; s++)
        if (streams[s].len)
            log_entry(&streams[s], streams[s].partial, streams[s].len);
    write_exit(exit_path, container, status);
    for (int i = 0; i < nclients; i++)
        close(clients[i].fd);
    /* The socket file stays (connecting to it is refused): the engine removes the directory, and
     * a file removed under it now would race with that removal. */
    return 0;
}
