package io.vessel.runtime.seccomp;

/**
 * The kernel constants a seccomp filter is made of: classic BPF opcodes, the {@code struct seccomp_data}
 * layout, filter return values and flags, and the audit architecture tokens.
 */
final class Bpf {
    private Bpf() {
    }

    // linux/bpf_common.h: instruction classes, sizes, modes, operations and sources.
    static final int LD = 0x00;
    static final int ALU = 0x04;
    static final int JMP = 0x05;
    static final int RET = 0x06;
    static final int W = 0x00;
    static final int ABS = 0x20;
    static final int AND = 0x50;
    static final int JA = 0x00;
    static final int JEQ = 0x10;
    static final int JGT = 0x20;
    static final int JGE = 0x30;
    static final int JSET = 0x40;
    static final int K = 0x00;
    /** linux/bpf_common.h: the most instructions one classic BPF program may have. */
    static final int MAXINSNS = 4096;
    /** linux/filter.h: struct sock_filter is {u16 code; u8 jt; u8 jf; u32 k;}. */
    static final int INSN_SIZE = 8;
    /** linux/filter.h: jt and jf are u8, so a conditional jump skips at most this many instructions. */
    static final int MAX_COND_JUMP = 255;

    // linux/seccomp.h: struct seccomp_data {int nr; u32 arch; u64 instruction_pointer; u64 args[6];}.
    static final int DATA_NR = 0;
    static final int DATA_ARCH = 4;
    static final int DATA_ARGS = 16;
    static final int DATA_SIZE = 64;
    static final int MAX_ARGS = 6;

    /** Offset of the low 32-bit word of argument {@code index} (x86 is little-endian). */
    static int argLow(int index) {
        return DATA_ARGS + 8 * index;
    }

    /** Offset of the high 32-bit word of argument {@code index}. */
    static int argHigh(int index) {
        return argLow(index) + 4;
    }

    // linux/seccomp.h: SECCOMP_RET_* filter return values; the low 16 bits (SECCOMP_RET_DATA) carry data.
    static final int RET_KILL_PROCESS = 0x80000000;
    static final int RET_KILL_THREAD = 0x00000000;
    static final int RET_TRAP = 0x00030000;
    static final int RET_ERRNO = 0x00050000;
    static final int RET_USER_NOTIF = 0x7fc00000;
    static final int RET_TRACE = 0x7ff00000;
    static final int RET_LOG = 0x7ffc0000;
    static final int RET_ALLOW = 0x7fff0000;
    static final int RET_DATA = 0x0000ffff;

    // linux/seccomp.h: SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, flags, prog).
    static final long FLAG_TSYNC = 1L << 0;
    static final long FLAG_LOG = 1L << 1;
    static final long FLAG_SPEC_ALLOW = 1L << 2;
    static final long FLAG_NEW_LISTENER = 1L << 3;
    static final long FLAG_TSYNC_ESRCH = 1L << 4;
    static final long FLAG_WAIT_KILLABLE_RECV = 1L << 5;

    // linux/audit.h: AUDIT_ARCH_* as seen in seccomp_data.arch.
    static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    static final int AUDIT_ARCH_I386 = 0x40000003;
    /** asm/unistd.h: __X32_SYSCALL_BIT, set in every x32 system call number (x32 shares AUDIT_ARCH_X86_64). */
    static final int X32_SYSCALL_BIT = 0x40000000;
    /** asm-generic/errno-base.h: EPERM, the errno runc uses when a profile gives none. */
    static final int EPERM = 1;
    /** linux/err.h: MAX_ERRNO, the largest errno SECCOMP_RET_ERRNO passes on. */
    static final int MAX_ERRNO = 4095;
}
