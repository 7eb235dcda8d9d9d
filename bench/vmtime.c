/*
 * vmtime: runs a VMM and times its guest from outside, the same way whatever the VMM, for
 * bench/vm-boot.sh. The clock starts just before fork; the VMM's stdout (the guest's console) is
 * read through a pipe and timestamped: its first byte (the test guest's first instruction writes
 * a newline to COM1), and every line starting with "BLK BENCH" (the guest's block benchmark).
 * Then the VMM's exit (wait4) and its peak RSS (ru_maxrss).
 *
 * usage: vmtime CONSOLE_FILE COMMAND [ARG...]
 * prints: first_ms=F exit_ms=E rss_kib=R status=S [blk_ms=B blk_bytes=N]
 * (status: the exit code, or 128+signal). The console is kept in CONSOLE_FILE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: vmtime CONSOLE_FILE COMMAND [ARG...]\n");
		return 2;
	}
	FILE *console = fopen(argv[1], "w");
	if (!console) {
		fprintf(stderr, "vmtime: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	int p[2];
	if (pipe(p) != 0) {
		perror("vmtime: pipe");
		return 2;
	}
	double start = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("vmtime: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "vmtime: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	double first = -1, blk_start = -1, blk_done = -1;
	unsigned long long blk_bytes = 0;
	char line[256];
	size_t len = 0;
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR) continue;
			perror("vmtime: read");
			break;
		}
		double t = now_ms();
		if (first < 0) first = t;
		fwrite(buf, 1, (size_t)n, console);
		fflush(console);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len + 1 < sizeof line) line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			if (strncmp(line, "BLK BENCH START", 15) == 0) blk_start = t;
			if (strncmp(line, "BLK BENCH DONE ", 15) == 0) {
				blk_done = t;
				blk_bytes = strtoull(line + 15, NULL, 10);
			}
		}
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("vmtime: wait4");
			return 2;
		}
	}
	double end = now_ms();
	fclose(console);
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("first_ms=%.2f exit_ms=%.2f rss_kib=%ld status=%d", first < 0 ? -1 : first - start, end - start,
		ru.ru_maxrss, status);
	if (blk_start >= 0 && blk_done >= 0) printf(" blk_ms=%.2f blk_bytes=%llu", blk_done - blk_start, blk_bytes);
	printf("\n");
	return 0;
}
