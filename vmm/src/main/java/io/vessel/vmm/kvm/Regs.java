package io.vessel.vmm.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code struct kvm_regs}: the general-purpose registers, rip and rflags, in the kernel's order. */
public record Regs(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                   long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                   long rip, long rflags) {
    /** RFLAGS bit 1 is reserved and always set (Intel SDM vol. 1, 3.4.3). */
    public static final long RFLAGS_RESERVED = 0x2;

    /** Registers all zero except rflags' reserved bit: the base a loader fills in. */
    public static Regs initial() {
        return new Regs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, RFLAGS_RESERVED);
    }

    public Regs withRip(long v) {
        return new Regs(rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, v, rflags);
    }

    public Regs withRsp(long v) {
        return new Regs(rax, rbx, rcx, rdx, rsi, rdi, v, v, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    public Regs withRsi(long v) {
        return new Regs(rax, rbx, rcx, rdx, v, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    public Regs withRbx(long v) {
        return new Regs(rax, v, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }

    static Regs read(MemorySegment s) {
        long[] v = new long[18];
        for (int i = 0; i < v.length; i++) {
            v[i] = s.get(ValueLayout.JAVA_LONG, i * 8L);
        }
        return new Regs(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
                v[14], v[15], v[16], v[17]);
    }

    void write(MemorySegment s) {
        long[] v = {rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags};
        for (int i = 0; i < v.length; i++) {
            s.set(ValueLayout.JAVA_LONG, i * 8L, v[i]);
        }
    }
}
