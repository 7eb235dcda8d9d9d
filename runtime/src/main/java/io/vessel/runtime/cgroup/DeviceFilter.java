package io.vessel.runtime.cgroup;

import io.vessel.linux.Bpf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A BPF_PROG_TYPE_CGROUP_DEVICE program that decides device access as a {@link DeviceRules.Policy}
 * does: one block per exception, tried in order, then the default.
 *
 * <p>The program sees {@code struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }}
 * with {@code access_type = access << 16 | type} and returns 1 to allow, 0 to deny. Registers: r2
 * the device type, r3 the access asked for, r4 the major, r5 the minor, r1 scratch once loaded.
 */
final class DeviceFilter {
    // instruction classes, sizes, operations and sources (include/uapi/linux/bpf_common.h and bpf.h)
    private static final int BPF_LDX = 0x01, BPF_JMP = 0x05, BPF_ALU64 = 0x07;
    private static final int BPF_W = 0x00, BPF_MEM = 0x60;
    private static final int BPF_AND = 0x50, BPF_RSH = 0x70, BPF_MOV = 0xb0;
    private static final int BPF_JEQ = 0x10, BPF_JNE = 0x50, BPF_EXIT = 0x90;
    private static final int BPF_K = 0x00, BPF_X = 0x08;
    // struct bpf_cgroup_dev_ctx field offsets
    private static final short CTX_ACCESS_TYPE = 0, CTX_MAJOR = 4, CTX_MINOR = 8;
    // BPF_DEVCG_DEV_BLOCK and BPF_DEVCG_DEV_CHAR (include/uapi/linux/bpf.h)
    private static final int DEV_BLOCK = 1, DEV_CHAR = 2;
    // access_type packs the access bits above the device type: access << 16 | type
    private static final int ACCESS_SHIFT = 16, TYPE_MASK = 0xFFFF;
    private static final int R0 = 0, R1 = 1, TYPE = 2, ACCESS = 3, MAJOR = 4, MINOR = 5;
    // the verdicts a cgroup device program returns
    private static final int ALLOW = 1, DENY = 0;

    private DeviceFilter() {
    }

    /** One struct bpf_insn; {@code off} of a jump is counted in instructions after this one. */
    record Insn(int code, int dst, int src, int off, int imm) {
        void encode(ByteBuffer out) {
            out.put((byte) code).put((byte) (dst | src << 4)).putShort((short) off).putInt(imm);
        }
    }

    /** The program's instructions, encoded for BPF_PROG_LOAD. */
    static byte[] program(DeviceRules.Policy policy) {
        List<Insn> code = assemble(policy);
        ByteBuffer out = ByteBuffer.allocate(code.size() * Bpf.INSN_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (Insn i : code) {
            i.encode(out);
        }
        return out.array();
    }

    static List<Insn> assemble(DeviceRules.Policy policy) {
        List<Insn> code = new ArrayList<>();
        code.add(new Insn(BPF_LDX | BPF_MEM | BPF_W, TYPE, R1, CTX_ACCESS_TYPE, 0));
        code.add(new Insn(BPF_ALU64 | BPF_MOV | BPF_X, ACCESS, TYPE, 0, 0));
        code.add(new Insn(BPF_ALU64 | BPF_AND | BPF_K, TYPE, 0, 0, TYPE_MASK));
        code.add(new Insn(BPF_ALU64 | BPF_RSH | BPF_K, ACCESS, 0, 0, ACCESS_SHIFT));
        code.add(new Insn(BPF_LDX | BPF_MEM | BPF_W, MAJOR, R1, CTX_MAJOR, 0));
        code.add(new Insn(BPF_LDX | BPF_MEM | BPF_W, MINOR, R1, CTX_MINOR, 0));
        for (DeviceRules.Entry e : policy.exceptions()) {
            code.addAll(block(e, policy.defaultAllow()));
        }
        code.add(new Insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, policy.defaultAllow() ? ALLOW : DENY));
        code.add(new Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        return code;
    }

    /**
     * One exception: skip to the next block unless the device matches and, for a default of deny,
     * every bit asked for is granted (for a default of allow: any bit asked for is refused); else
     * return the exception's verdict.
     */
    private static List<Insn> block(DeviceRules.Entry e, boolean defaultAllow) {
        List<int[]> tests = new ArrayList<>(); // {register, value} that must be equal
        tests.add(new int[] {TYPE, e.type() == 'b' ? DEV_BLOCK : DEV_CHAR});
        if (e.major() != null) {
            tests.add(new int[] {MAJOR, Math.toIntExact(e.major())});
        }
        if (e.minor() != null) {
            tests.add(new int[] {MINOR, Math.toIntExact(e.minor())});
        }
        boolean checkAccess = defaultAllow || e.access() != DeviceRules.ALL_ACCESS;
        int length = tests.size() + (checkAccess ? 3 : 0) + 2;
        List<Insn> out = new ArrayList<>(length);
        for (int[] t : tests) {
            out.add(new Insn(BPF_JMP | BPF_JNE | BPF_K, t[0], 0, length - out.size() - 1, t[1]));
        }
        if (checkAccess) {
            int mask = defaultAllow ? e.access() : ~e.access() & DeviceRules.ALL_ACCESS;
            out.add(new Insn(BPF_ALU64 | BPF_MOV | BPF_X, R1, ACCESS, 0, 0));
            out.add(new Insn(BPF_ALU64 | BPF_AND | BPF_K, R1, 0, 0, mask));
            // default deny: any bit asked for outside the grant means no match; default allow: no bit refused
            int jump = BPF_JMP | (defaultAllow ? BPF_JEQ : BPF_JNE) | BPF_K;
            out.add(new Insn(jump, R1, 0, length - out.size() - 1, 0));
        }
        out.add(new Insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, defaultAllow ? DENY : ALLOW));
        out.add(new Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        return out;
    }
}
