/*
 * vessel-exit STATUS — the guest side of Vessel's debug-exit port: writes STATUS (0-255) as one
 * byte to I/O port 0x501, which the VMM turns into the VM's exit status. Debian's kernels lack
 * /dev/port (CONFIG_DEVPORT), so this takes the port with ioperm(2) and writes it with outb.
 * Freestanding (raw syscalls, no libc) to stay a few KiB in the initramfs. Exits 0 if the write
 * was made (the VM normally ends right there), 1 on a bad argument, 2 if ioperm failed.
 */
#define DEBUG_EXIT_PORT 0x501 /* agreed with io.vessel.vmm.devices.legacy's debug-exit device */
#define SYS_WRITE 1
#define SYS_IOPERM 173
#define SYS_EXIT 60

static long syscall3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static void say(const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    syscall3(SYS_WRITE, 2, (long)s, n);
}

static void leave(int status)
{
    syscall3(SYS_EXIT, status, 0, 0);
    for (;;)
        ;
}

/* Called from _start with the initial stack: argc, then argv. */
__attribute__((used)) void vessel_exit_main(long *stack)
{
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    if (argc != 2 || !argv[1][0]) {
        say("usage: vessel-exit STATUS (0-255)\n");
        leave(1);
    }
    long status = 0;
    for (const char *p = argv[1]; *p; p++) {
        if (*p < '0' || *p > '9' || status > 255) {
            say("vessel-exit: STATUS must be a number from 0 to 255\n");
            leave(1);
        }
        status = status * 10 + (*p - '0');
    }
    if (status > 255) {
        say("vessel-exit: STATUS must be a number from 0 to 255\n");
        leave(1);
    }
    if (syscall3(SYS_IOPERM, DEBUG_EXIT_PORT, 1, 1) != 0) {
        say("vessel-exit: ioperm(0x501) failed\n");
        leave(2);
    }
    __asm__ volatile("outb %b0, %w1" : : "a"(status), "Nd"(DEBUG_EXIT_PORT));
    leave(0);
}

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call vessel_exit_main\n"
        "  hlt\n");
