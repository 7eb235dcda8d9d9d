package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources.DeviceRule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device rules as v1 lines, the policy they leave, and the BPF program for v2 run in a small interpreter. */
class DeviceRulesTest {
    static final int R = DeviceRules.READ, W = DeviceRules.WRITE, M = DeviceRules.MKNOD;

    static DeviceRule allow(String type, Long major, Long minor, String access) {
        return new DeviceRule(true, type, major, minor, access);
    }

    static DeviceRule deny(String type, Long major, Long minor, String access) {
        return new DeviceRule(false, type, major, minor, access);
    }

    static final List<List<DeviceRule>> CASES = List.of(
            List.of(),
            List.of(allow("c", 1L, 3L, "rwm")),
            List.of(allow("a", null, null, "rwm"), deny("c", 1L, 5L, "rwm")),
            List.of(allow("c", null, null, "m"), allow("b", null, null, "m"), allow("c", 1L, 3L, "rwm"),
                    deny("c", 1L, 3L, "w")),
            List.of(allow("c", 1L, 3L, "r"), allow("c", 1L, 3L, "w")),
            List.of(allow("c", 1L, 3L, "rwm"), deny("a", null, null, "rwm")),
            List.of(allow("a", 1L, null, "r")),
            List.of(allow("a", null, null, "rwm"), deny("c", 1L, null, "w"), deny("b", null, 9L, "rwm")),
            List.of(allow("c", 5L, null, "rw"), allow("c", null, 5L, "m"), deny("c", 5L, null, "r")));

    @Test
    void v1LinesUseStarsAndSplitNarrowTypeARules() {
        assertEquals(List.of("a"), DeviceRules.v1Lines(allow("a", null, null, "rwm")));
        assertEquals(List.of("c 1:3 rwm"), DeviceRules.v1Lines(allow("c", 1L, 3L, "rwm")));
        assertEquals(List.of("b *:* m"), DeviceRules.v1Lines(allow("b", null, null, "m")));
        assertEquals(List.of("c 1:* r", "b 1:* r"), DeviceRules.v1Lines(allow("a", 1L, null, "r")));
    }

    @Test
    void policyFollowsTheV1Controller() {
        var none = DeviceRules.policy(CASES.get(0));
        assertFalse(none.allows('c', 1, 3, R));

        var onlyNull = DeviceRules.policy(CASES.get(1));
        assertTrue(onlyNull.allows('c', 1, 3, R | W));
        assertFalse(onlyNull.allows('c', 1, 5, R));
        assertFalse(onlyNull.allows('b', 1, 3, R));

        var allButZero = DeviceRules.policy(CASES.get(2));
        assertTrue(allButZero.defaultAllow());
        assertFalse(allButZero.allows('c', 1, 5, R));
        assertTrue(allButZero.allows('c', 1, 3, R | W));
        assertTrue(allButZero.allows('b', 1, 5, R));

        var readOnlyNull = DeviceRules.policy(CASES.get(3));
        assertTrue(readOnlyNull.allows('c', 1, 3, R));
        assertFalse(readOnlyNull.allows('c', 1, 3, R | W));
        assertTrue(readOnlyNull.allows('c', 1, 3, M));
        assertTrue(readOnlyNull.allows('b', 8, 0, M));

        assertTrue(DeviceRules.policy(CASES.get(4)).allows('c', 1, 3, R | W), "same device: access merges");
        assertFalse(DeviceRules.policy(CASES.get(5)).allows('c', 1, 3, R), "\"a\" resets what came before");
        assertTrue(DeviceRules.policy(CASES.get(6)).allows('b', 1, 7, R));
        assertFalse(DeviceRules.policy(CASES.get(6)).allows('b', 1, 7, W));
    }

    @Test
    void theBpfProgramDecidesAsThePolicyDoes() {
        for (List<DeviceRule> rules : CASES) {
            DeviceRules.Policy policy = DeviceRules.policy(rules);
            List<DeviceFilter.Insn> code = DeviceFilter.assemble(policy);
            for (char type : new char[] {'c', 'b'}) {
                for (long major : new long[] {1, 5, 7}) {
                    for (long minor : new long[] {3, 5, 9}) {
                        for (int access = 1; access <= DeviceRules.ALL_ACCESS; access++) {
                            boolean expected = policy.allows(type, major, minor, access);
                            long got = run(code, access << 16 | (type == 'b' ? 1 : 2), (int) major, (int) minor);
                            assertEquals(expected ? 1 : 0, got,
                                    rules + ": " + type + " " + major + ":" + minor + " access " + access);
                        }
                    }
                }
            }
            assertEquals(code.size() * 8, DeviceFilter.program(policy).length);
        }
    }

    /** Executes the instructions DeviceFilter emits, as the kernel would, for one access. */
    static long run(List<DeviceFilter.Insn> code, int accessType, int major, int minor) {
        long[] reg = new long[11];
        int[] ctx = {accessType, major, minor};
        boolean r1IsCtx = true;
        for (int pc = 0, steps = 0; steps < 10_000; steps++) {
            DeviceFilter.Insn i = code.get(pc++);
            long imm = i.imm();
            switch (i.code()) {
                case 0x61 -> { // ldx w [src + off]
                    assertTrue(r1IsCtx && i.src() == 1, "loads only from the context");
                    reg[i.dst()] = Integer.toUnsignedLong(ctx[i.off() / 4]);
                }
                case 0xbf -> { // mov64 dst, src
                    reg[i.dst()] = reg[i.src()];
                    r1IsCtx &= i.dst() != 1;
                }
                case 0xb7 -> { // mov64 dst, imm
                    reg[i.dst()] = imm;
                    r1IsCtx &= i.dst() != 1;
                }
                case 0x57 -> reg[i.dst()] &= imm; // and64 dst, imm
                case 0x77 -> reg[i.dst()] >>>= imm; // rsh64 dst, imm
                case 0x55 -> pc += reg[i.dst()] != imm ? i.off() : 0; // jne dst, imm
                case 0x15 -> pc += reg[i.dst()] == imm ? i.off() : 0; // jeq dst, imm
                case 0x95 -> {
                    return reg[0];
                }
                default -> throw new AssertionError("unexpected opcode 0x" + Integer.toHexString(i.code()));
            }
        }
        throw new AssertionError("program does not end");
    }
}
