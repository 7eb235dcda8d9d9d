package io.vessel.runtime.seccomp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vessel.json.JsonNode;
import io.vessel.runtime.spec.Spec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Tests the seccomp compiler by running the compiled filters in a small classic-BPF interpreter on
 * synthetic {@code struct seccomp_data}, and by checking every program the way the kernel's
 * {@code seccomp_check_filter} would.
 */
class SeccompCompilerTest {
    // linux/audit.h
    static final int X86_64 = 0xC000003E;
    static final int I386 = 0x40000003;
    static final int AARCH64 = 0xC00000B7;
    // asm/unistd.h __X32_SYSCALL_BIT
    static final int X32_BIT = 0x40000000;
    // linux/seccomp.h
    static final int KILL_PROCESS = 0x80000000;
    static final int KILL_THREAD = 0;
    static final int TRAP = 0x00030000;
    static final int ERRNO = 0x00050000;
    static final int NOTIFY = 0x7fc00000;
    static final int TRACE = 0x7ff00000;
    static final int LOG = 0x7ffc0000;
    static final int ALLOW = 0x7fff0000;
    // A few numbers checked by hand against asm/unistd_{64,32,x32}.h.
    static final int NR64_WRITE = 1;
    static final int NR64_RT_SIGACTION = 13;
    static final int NR64_WRITEV = 20;
    static final int NR64_GETPID = 39;
    static final int NR64_MKDIR = 83;
    static final int NR64_CHMOD = 90;
    static final int NR64_PERSONALITY = 135;
    static final int NR64_KEYCTL = 250;
    static final int NR32_READ = 3;
    static final int NR32_GETPID = 20;
    static final int NR32_MKDIR = 39;
    static final int NR32_SOCKETCALL = 102;
    static final int NR32_PERSONALITY = 136;
    static final int NRX32_RT_SIGACTION = X32_BIT | 512;

    // ---- the interpreter -------------------------------------------------------------------------

    /** Runs {@code filter} on seccomp_data {nr, arch, ip = 0, args} and returns the RET value. */
    static int run(SeccompCompiler.Program p, int nr, int arch, long... args) {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch).putLong(8, 0x7f0000001234L);
        for (int i = 0; i < args.length; i++) {
            data.putLong(16 + 8 * i, args[i]);
        }
        ByteBuffer code = ByteBuffer.wrap(p.filter()).order(ByteOrder.LITTLE_ENDIAN);
        int n = p.instructionCount();
        int a = 0;
        int pc = 0;
        while (true) {
            assertTrue(pc >= 0 && pc < n, "pc " + pc + " outside the program");
            int op = code.getShort(8 * pc) & 0xffff;
            int jt = code.get(8 * pc + 2) & 0xff;
            int jf = code.get(8 * pc + 3) & 0xff;
            int k = code.getInt(8 * pc + 4);
            pc++;
            switch (op) {
                case 0x20 -> a = data.getInt(k);                                    // LD W ABS
                case 0x54 -> a &= k;                                                // ALU AND K
                case 0x05 -> pc += k;                                               // JMP JA
                case 0x15 -> pc += a == k ? jt : jf;                                // JEQ K
                case 0x25 -> pc += Integer.compareUnsigned(a, k) > 0 ? jt : jf;     // JGT K
                case 0x35 -> pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf;    // JGE K
                case 0x45 -> pc += (a & k) != 0 ? jt : jf;                          // JSET K
                case 0x06 -> {                                                      // RET K
                    return k;
                }
                default -> fail("opcode 0x" + Integer.toHexString(op) + " at " + (pc - 1));
            }
        }
    }

    /** What the kernel checks before accepting a filter (linux/filter.c, kernel/seccomp.c). */
    static void assertKernelAccepts(SeccompCompiler.Program p) {
        int n = p.instructionCount();
        assertEquals(8 * n, p.filter().length);
        assertTrue(n > 0 && n <= 4096, "length " + n);
        ByteBuffer code = ByteBuffer.wrap(p.filter()).order(ByteOrder.LITTLE_ENDIAN);
        for (int pc = 0; pc < n; pc++) {
            int op = code.getShort(8 * pc) & 0xffff;
            int jt = code.get(8 * pc + 2) & 0xff;
            int jf = code.get(8 * pc + 3) & 0xff;
            int k = code.getInt(8 * pc + 4);
            switch (op) {
                case 0x20 -> assertTrue(k >= 0 && k < 64 && k % 4 == 0, "load offset " + k + " at " + pc);
                case 0x05 -> assertTrue(k >= 0 && pc + 1 + (long) k < n, "JA out of range at " + pc);
                case 0x15, 0x25, 0x35, 0x45 -> assertTrue(pc + 1 + Math.max(jt, jf) < n, "jump out at " + pc);
                case 0x54, 0x06 -> { }
                default -> fail("opcode 0x" + Integer.toHexString(op) + " at " + pc);
            }
        }
        assertEquals(0x06, code.getShort(8 * (n - 1)), "last instruction must be RET");
    }

    // ---- building profiles -----------------------------------------------------------------------

    static Spec.SyscallArg arg(int index, String op, long value, long valueTwo) {
        return new Spec.SyscallArg(index, value, valueTwo, "SCMP_CMP_" + op);
    }

    static Spec.Syscall rule(String action, Integer errnoRet, List<String> names, Spec.SyscallArg... args) {
        return new Spec.Syscall(names, action, errnoRet, List.of(args));
    }

    static Spec.Syscall rule(String action, List<String> names, Spec.SyscallArg... args) {
        return rule(action, null, names, args);
    }

    static Spec.Seccomp profile(String dflt, List<String> arches, Spec.Syscall... rules) {
        return new Spec.Seccomp(dflt, null, arches, List.of(), null, null, List.of(rules));
    }

    static SeccompCompiler.Program compile(Spec.Seccomp profile) {
        SeccompCompiler.Program p = SeccompCompiler.compile(profile);
        assertKernelAccepts(p);
        assertArrayEquals(p.filter(), SeccompCompiler.compile(profile).filter(), "deterministic");
        return p;
    }

    // ---- behaviour -------------------------------------------------------------------------------

    @Test
    void defaultAllowWithErrnoRules() {
        var p = compile(profile("SCMP_ACT_ALLOW", List.of(),
                rule("SCMP_ACT_ERRNO", 38, List.of("mkdir", "keyctl")),
                rule("SCMP_ACT_ERRNO", List.of("chmod"))));
        assertEquals(ERRNO | 38, run(p, NR64_MKDIR, X86_64));
        assertEquals(ERRNO | 38, run(p, NR64_KEYCTL, X86_64));
        assertEquals(ERRNO | 1, run(p, NR64_CHMOD, X86_64), "EPERM when errnoRet is absent");
        assertEquals(ALLOW, run(p, NR64_GETPID, X86_64));
        assertEquals(ALLOW, run(p, 0, X86_64));
        assertEquals(ALLOW, run(p, 4000, X86_64));
        assertEquals(0, p.flags());
        assertFalse(p.needsListener());
        assertEquals(List.of(), p.ignoredSyscalls());
    }

    @Test
    void dockerLikeAllowListNeedsLongJumps() {
        Set<String> denied = new LinkedHashSet<>(List.of("kexec_load", "reboot", "mount", "ptrace", "keyctl",
                "add_key", "init_module", "bpf", "unshare", "setns"));
        List<String> x86_64 = tableNames(SyscallTable.X86_64);
        for (int i = 0; i < x86_64.size(); i += 4) {
            denied.add(x86_64.get(i));   // fragments the number space: many intervals, far jumps
        }
        denied.removeAll(Set.of("clone", "clone3", "socketcall", "read"));
        List<String> allowed = new ArrayList<>(x86_64);
        allowed.addAll(tableNames(SyscallTable.I386));
        allowed.addAll(List.of("arm_fadvise64_64", "s390_pci_mmio_read", "riscv_flush_icache"));
        allowed = allowed.stream().distinct()
                .filter(n -> !denied.contains(n) && !n.equals("clone") && !n.equals("clone3")).toList();
        assertTrue(allowed.size() > 300, "allow list of " + allowed.size());

        var p = compile(new Spec.Seccomp("SCMP_ACT_ERRNO", null,
                List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"),
                List.of(), null, null, List.of(
                        rule("SCMP_ACT_ALLOW", allowed),
                        rule("SCMP_ACT_ALLOW", List.of("clone"), arg(0, "MASKED_EQ", 0x7E020000L, 0)),
                        rule("SCMP_ACT_ERRNO", 38, List.of("clone3")))));
        assertTrue(p.instructionCount() > 2 * 255, p.instructionCount() + " instructions");
        assertTrue(hasJa(p), "the jump to the i386 section needs a JA trampoline");
        assertTrue(count(p, 0x06, ALLOW) > 2, "far jumps to the shared RET ALLOW use copies of it");
        assertTrue(p.instructionCount() < 2000, p.instructionCount() + " instructions");
        assertEquals(List.of("arm_fadvise64_64", "s390_pci_mmio_read", "riscv_flush_icache"),
                p.ignoredSyscalls());

        for (String name : allowed) {
            for (Arch a : Arch.values()) {
                int nr = a.number(name);
                if (nr != -1) {
                    assertEquals(ALLOW, run(p, nr, a.auditArch), name + " on " + a);
                }
            }
        }
        for (String name : denied) {
            for (Arch a : Arch.values()) {
                int nr = a.number(name);
                if (nr != -1) {
                    assertEquals(ERRNO | 1, run(p, nr, a.auditArch), name + " on " + a);
                }
            }
        }
        assertEquals(ALLOW, run(p, NR32_SOCKETCALL, I386));
        assertEquals(ALLOW, run(p, NR32_READ, I386));
        assertEquals(ERRNO | 38, run(p, 435, X86_64), "clone3");
        assertEquals(ERRNO | 1, run(p, 5000, X86_64));
        assertEquals(ERRNO | 1, run(p, 0x3fffffff, X86_64));
        assertEquals(ERRNO | 1, run(p, -1, X86_64));
        assertEquals(KILL_PROCESS, run(p, NR64_GETPID, AARCH64));
        int clone = 56;
        assertEquals(ALLOW, run(p, clone, X86_64, 0x11L /* SIGCHLD|... */));
        assertEquals(ERRNO | 1, run(p, clone, X86_64, 0x20000000L /* CLONE_NEWCGROUP... */));
        assertEquals(ALLOW, run(p, clone, X86_64, 0xFFFFFFFF_00000011L), "MASKED_EQ mask has no high bits");
    }

    @Test
    void allowListsCompileToNumberIntervals() {
        List<String> all = new ArrayList<>(tableNames(SyscallTable.X86_64));
        all.removeAll(List.of("kexec_load", "reboot", "mount", "ptrace", "keyctl"));
        var p = compile(profile("SCMP_ACT_ERRNO", List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"),
                rule("SCMP_ACT_ALLOW", all)));
        assertTrue(p.instructionCount() < 150, p.instructionCount() + " instructions");
        for (String name : all) {
            assertEquals(ALLOW, run(p, Arch.X86_64.number(name), X86_64), name);
        }
        assertEquals(ERRNO | 1, run(p, NR64_KEYCTL, X86_64));
        assertEquals(ERRNO | 1, run(p, 1000, X86_64));
    }

    @Test
    void everyOperatorAtItsBoundaries() {
        long[] values = {0, 1, 0x7FFFFFFFL, 0x80000000L, 0xFFFFFFFFL, 0x1_0000_0000L, 0x1_0000_0001L,
                0x1_FFFF_FFFFL, 0x7FFFFFFF_FFFFFFFFL, 0x80000000_00000000L, -2L, -1L};
        Set<Long> probes = new LinkedHashSet<>();
        for (long v : values) {
            probes.addAll(List.of(v - 1, v, v + 1, v ^ 0x1_0000_0000L, v ^ 0x80000000L));
        }
        for (String op : List.of("NE", "LT", "LE", "EQ", "GE", "GT")) {
            for (long v : values) {
                var p = compile(profile("SCMP_ACT_ERRNO", List.of(),
                        rule("SCMP_ACT_ALLOW", List.of("personality"), arg(2, op, v, 0))));
                for (long a : probes) {
                    int c = Long.compareUnsigned(a, v);
                    boolean holds = switch (op) {
                        case "NE" -> c != 0;
                        case "LT" -> c < 0;
                        case "LE" -> c <= 0;
                        case "EQ" -> c == 0;
                        case "GE" -> c >= 0;
                        default -> c > 0;
                    };
                    assertEquals(holds ? ALLOW : ERRNO | 1, run(p, NR64_PERSONALITY, X86_64, 0, 0, a),
                            () -> "0x" + Long.toHexString(a) + " " + op + " 0x" + Long.toHexString(v));
                    assertEquals(ERRNO | 1, run(p, NR64_GETPID, X86_64, 0, 0, a));
                }
            }
        }
    }

    @Test
    void i386ComparesLowWordsOnlyAtTheirBoundaries() {
        long[] values = {0, 1, 0x7FFFFFFFL, 0x80000000L, 0xFFFFFFFFL, 0x1_0000_0005L, -1L};
        long[] probes = {0, 1, 2, 4, 5, 6, 0x7FFFFFFEL, 0x7FFFFFFFL, 0x80000000L, 0x80000001L, 0xFFFFFFFEL,
                0xFFFFFFFFL};
        for (String op : List.of("NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ")) {
            for (long v : values) {
                var p = compile(profile("SCMP_ACT_ERRNO", List.of("SCMP_ARCH_X86"),
                        rule("SCMP_ACT_ALLOW", List.of("personality"), arg(1, op, v, 5))));
                for (long a : probes) {
                    int c = Integer.compareUnsigned((int) a, (int) v);   // libseccomp truncates the value
                    boolean holds = switch (op) {
                        case "NE" -> c != 0;
                        case "LT" -> c < 0;
                        case "LE" -> c <= 0;
                        case "EQ" -> c == 0;
                        case "GE" -> c >= 0;
                        case "GT" -> c > 0;
                        default -> (a & v & 0xFFFFFFFFL) == 5;
                    };
                    assertEquals(holds ? ALLOW : ERRNO | 1, run(p, NR32_PERSONALITY, I386, 0, a),
                            () -> "i386 0x" + Long.toHexString(a) + " " + op + " 0x" + Long.toHexString(v));
                }
            }
        }
    }

    @Test
    void maskedEqual() {
        long[][] cases = {{0x7E020000L, 0}, {0xFFFFFFFF_00000000L, 0x1_0000_0000L}, {-1L, -1L}, {0xF0, 0x10},
                {0x1_0000_000FL, 0x1_0000_0005L}, {0xF, 0x1F}, {0x80000000_00000001L, 0x80000000_00000000L}};
        long[] probes = {0, 1, 5, 0x10, 0x1F, 0xFF, 0x7E020000L, 0x20000000L, 0x1_0000_0000L, 0x1_0000_0005L,
                0xFFFFFFFFL, 0x8000_0000_0000_0000L, 0x8000_0000_0000_0001L, -1L, -2L};
        for (long[] c : cases) {
            var p = compile(profile("SCMP_ACT_ALLOW", List.of(),
                    rule("SCMP_ACT_ERRNO", 22, List.of("personality"), arg(5, "MASKED_EQ", c[0], c[1]))));
            for (long a : probes) {
                boolean holds = (a & c[0]) == c[1];
                assertEquals(holds ? ERRNO | 22 : ALLOW, run(p, NR64_PERSONALITY, X86_64, 0, 0, 0, 0, 0, a),
                        () -> "(0x" + Long.toHexString(a) + " & 0x" + Long.toHexString(c[0]) + ") == 0x"
                                + Long.toHexString(c[1]));
            }
        }
    }

    @Test
    void argumentsOfOneRuleAreAndedButRepeatedIndexesAreOred() {
        var p = compile(profile("SCMP_ACT_ERRNO", List.of(),
                rule("SCMP_ACT_ALLOW", List.of("personality"), arg(0, "EQ", 1, 0), arg(3, "GT", 5, 0)),
                rule("SCMP_ACT_ALLOW", List.of("mkdir"), arg(1, "GE", 10, 0), arg(1, "LE", 20, 0))));
        assertEquals(ALLOW, run(p, NR64_PERSONALITY, X86_64, 1, 0, 0, 6));
        assertEquals(ERRNO | 1, run(p, NR64_PERSONALITY, X86_64, 1, 0, 0, 5));
        assertEquals(ERRNO | 1, run(p, NR64_PERSONALITY, X86_64, 2, 0, 0, 6));
        // runc adds each condition as its own rule when an index repeats: 10 <= x OR x <= 20.
        assertEquals(ALLOW, run(p, NR64_MKDIR, X86_64, 0, 5));
        assertEquals(ALLOW, run(p, NR64_MKDIR, X86_64, 0, 50));
    }

    @Test
    void rulesOfOneSyscallFirstMatchWinsAndDefaultActionRulesAreDropped() {
        var p = compile(profile("SCMP_ACT_KILL_PROCESS", List.of(),
                rule("SCMP_ACT_ERRNO", 5, List.of("personality"), arg(0, "EQ", 1, 0)),
                rule("SCMP_ACT_ALLOW", List.of("personality"), arg(0, "LE", 2, 0)),
                rule("SCMP_ACT_KILL_PROCESS", List.of("personality"), arg(0, "EQ", 3, 0)),
                rule("SCMP_ACT_TRAP", List.of("personality")),
                rule("SCMP_ACT_LOG", List.of("personality"), arg(0, "EQ", 4, 0))));
        assertEquals(ERRNO | 5, run(p, NR64_PERSONALITY, X86_64, 1));
        assertEquals(ALLOW, run(p, NR64_PERSONALITY, X86_64, 0));
        assertEquals(ALLOW, run(p, NR64_PERSONALITY, X86_64, 2));
        assertEquals(TRAP, run(p, NR64_PERSONALITY, X86_64, 3), "the KILL_PROCESS rule equals the default");
        assertEquals(TRAP, run(p, NR64_PERSONALITY, X86_64, 4), "after an unconditional rule");
        assertEquals(KILL_PROCESS, run(p, NR64_GETPID, X86_64));

        var onlyConditional = compile(profile("SCMP_ACT_ERRNO", List.of(),
                rule("SCMP_ACT_ALLOW", List.of("personality"), arg(0, "EQ", 0, 0)),
                rule("SCMP_ACT_ALLOW", List.of("personality"), arg(0, "EQ", 8, 0))));
        assertEquals(ALLOW, run(onlyConditional, NR64_PERSONALITY, X86_64, 8));
        assertEquals(ERRNO | 1, run(onlyConditional, NR64_PERSONALITY, X86_64, 9));
    }

    @Test
    void systemCallsWithEqualRulesShareTheirCode() {
        List<String> names = tableNames(SyscallTable.X86_64).subList(0, 300);
        var p = compile(profile("SCMP_ACT_ALLOW", List.of(), rule("SCMP_ACT_ERRNO", names,
                arg(0, "GT", 1, 0), arg(1, "GT", 1, 0), arg(2, "GT", 1, 0))));
        assertTrue(p.instructionCount() < 50, p.instructionCount() + " instructions");
        for (String name : names) {
            int nr = Arch.X86_64.number(name);
            assertEquals(ERRNO | 1, run(p, nr, X86_64, 2, 2, 2), name);
            assertEquals(ALLOW, run(p, nr, X86_64, 2, 2, 1), name);
        }
    }

    @Test
    void i386UsesItsOwnNumbersAndLowWords() {
        var p = compile(profile("SCMP_ACT_ALLOW", List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"),
                rule("SCMP_ACT_ERRNO", 13, List.of("getpid", "socketcall")),
                rule("SCMP_ACT_ERRNO", 7, List.of("personality"), arg(0, "EQ", -1L, 0))));
        assertEquals(ERRNO | 13, run(p, NR32_GETPID, I386));
        assertEquals(ALLOW, run(p, NR32_MKDIR, I386), "39 is mkdir on i386, getpid on x86_64");
        assertEquals(ERRNO | 13, run(p, NR64_GETPID, X86_64));
        assertEquals(ALLOW, run(p, NR64_WRITEV, X86_64), "20 is writev on x86_64, getpid on i386");
        assertEquals(ERRNO | 13, run(p, NR32_SOCKETCALL, I386));
        assertEquals(ALLOW, run(p, NR32_SOCKETCALL, X86_64), "102 is getuid on x86_64");
        // i386 arguments are 32-bit (zero-extended by the kernel); the rule value is truncated as libseccomp does.
        assertEquals(ERRNO | 7, run(p, NR32_PERSONALITY, I386, 0xFFFFFFFFL));
        assertEquals(ALLOW, run(p, NR64_PERSONALITY, X86_64, 0xFFFFFFFFL));
        assertEquals(ERRNO | 7, run(p, NR64_PERSONALITY, X86_64, -1L));
    }

    @Test
    void architecturesNotAdmittedAreKilled() {
        var nativeOnly = compile(profile("SCMP_ACT_ALLOW", List.of(),
                rule("SCMP_ACT_ERRNO", List.of("mkdir"))));
        assertEquals(KILL_PROCESS, run(nativeOnly, NR32_GETPID, I386));
        assertEquals(KILL_PROCESS, run(nativeOnly, NR64_GETPID, AARCH64));
        assertEquals(KILL_PROCESS, run(nativeOnly, 0, 0));
        assertEquals(ALLOW, run(nativeOnly, NR64_GETPID, X86_64));

        var foreignListed = compile(profile("SCMP_ACT_ALLOW", List.of("SCMP_ARCH_AARCH64", "SCMP_ARCH_PPC64LE"),
                rule("SCMP_ACT_ERRNO", List.of("mkdir"))));
        assertEquals(KILL_PROCESS, run(foreignListed, NR64_MKDIR, AARCH64), "aarch64 cannot be admitted here");
        assertEquals(ERRNO | 1, run(foreignListed, NR64_MKDIR, X86_64), "the native ABI is always admitted");
        assertArrayEquals(nativeOnly.filter(), foreignListed.filter());
    }

    @Test
    void x32NumbersAreKilledUnlessX32IsAdmitted() {
        var without = compile(profile("SCMP_ACT_ALLOW", List.of("SCMP_ARCH_X86_64"),
                rule("SCMP_ACT_ERRNO", List.of("keyctl"))));
        assertEquals(ERRNO | 1, run(without, NR64_KEYCTL, X86_64));
        assertEquals(KILL_PROCESS, run(without, X32_BIT | NR64_KEYCTL, X86_64), "no bypass through x32");
        assertEquals(KILL_PROCESS, run(without, X32_BIT | NR64_GETPID, X86_64));
        assertEquals(ALLOW, run(without, -1, X86_64), "nr -1 (a tracer skipping the call) is not a foreign ABI");

        var with = compile(profile("SCMP_ACT_ALLOW", List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X32"),
                rule("SCMP_ACT_ERRNO", List.of("keyctl", "rt_sigaction")),
                rule("SCMP_ACT_TRAP", List.of("personality"), arg(0, "EQ", -1L, 0))));
        assertEquals(ERRNO | 1, run(with, X32_BIT | NR64_KEYCTL, X86_64));
        assertEquals(ERRNO | 1, run(with, NR64_KEYCTL, X86_64));
        assertEquals(ALLOW, run(with, X32_BIT | NR64_GETPID, X86_64));
        assertEquals(ERRNO | 1, run(with, NRX32_RT_SIGACTION, X86_64), "x32 rt_sigaction is 512");
        assertEquals(ERRNO | 1, run(with, NR64_RT_SIGACTION, X86_64));
        assertEquals(ALLOW, run(with, X32_BIT | NR64_RT_SIGACTION, X86_64), "13 is not rt_sigaction on x32");
        assertEquals(TRAP, run(with, X32_BIT | NR64_PERSONALITY, X86_64, 0xFFFFFFFFL), "x32 compares low words");
        assertEquals(ALLOW, run(with, NR64_PERSONALITY, X86_64, 0xFFFFFFFFL));
    }

    @Test
    void actionsAndTheirData() {
        record Case(String action, Integer errnoRet, int expected) { }
        for (Case c : List.of(new Case("SCMP_ACT_KILL", null, KILL_THREAD),
                new Case("SCMP_ACT_KILL_THREAD", null, KILL_THREAD),
                new Case("SCMP_ACT_KILL_PROCESS", null, KILL_PROCESS),
                new Case("SCMP_ACT_TRAP", 9, TRAP),
                new Case("SCMP_ACT_ERRNO", null, ERRNO | 1),
                new Case("SCMP_ACT_ERRNO", 0, ERRNO),
                new Case("SCMP_ACT_ERRNO", 4095, ERRNO | 4095),
                new Case("SCMP_ACT_TRACE", null, TRACE | 1),
                new Case("SCMP_ACT_TRACE", 1234, TRACE | 1234),
                new Case("SCMP_ACT_LOG", null, LOG))) {
            var p = compile(profile("SCMP_ACT_ALLOW", List.of(), rule(c.action, c.errnoRet, List.of("mkdir"))));
            assertEquals(c.expected, run(p, NR64_MKDIR, X86_64), c.toString());
            var d = compile(new Spec.Seccomp(c.action, c.errnoRet, List.of(), List.of(), null, null,
                    List.of(rule("SCMP_ACT_ALLOW", List.of("getpid")))));
            assertEquals(c.expected, run(d, NR64_MKDIR, X86_64), "default " + c);
            assertEquals(ALLOW, run(d, NR64_GETPID, X86_64));
        }
    }

    @Test
    void flagsAndListener() {
        var plain = SeccompCompiler.compile(new Spec.Seccomp("SCMP_ACT_ALLOW", null, List.of(),
                List.of("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"), null, null, List.of()));
        assertEquals(1 | 2 | 4, plain.flags(), "WAIT_KILLABLE_RECV needs a listener");
        assertFalse(plain.needsListener());
        assertEquals(ALLOW, run(plain, NR64_MKDIR, X86_64));

        var notify = compile(new Spec.Seccomp("SCMP_ACT_ALLOW", null, List.of(),
                List.of("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
                "/run/agent.sock", "meta", List.of(rule("SCMP_ACT_NOTIFY", List.of("mkdir", "read")))));
        assertTrue(notify.needsListener());
        assertEquals(1 | 8 | 16 | 32, notify.flags(), "TSYNC, NEW_LISTENER, TSYNC_ESRCH, WAIT_KILLABLE_RECV");
        assertEquals(NOTIFY, run(notify, NR64_MKDIR, X86_64));
        assertEquals(ALLOW, run(notify, NR64_WRITE, X86_64));
    }

    @Test
    void unknownNamesAreIgnoredAndListed() {
        var p = compile(profile("SCMP_ACT_ERRNO", List.of(),
                rule("SCMP_ACT_ALLOW", List.of("getpid", "no_such_call", "socketcall", "getpid")),
                rule("SCMP_ACT_ALLOW", List.of("no_such_call"))));
        assertEquals(List.of("no_such_call", "socketcall"), p.ignoredSyscalls(), "socketcall is i386-only");
        assertEquals(ALLOW, run(p, NR64_GETPID, X86_64));
        assertEquals(ERRNO | 1, run(p, NR64_MKDIR, X86_64));
    }

    @Test
    void emptyProfileReturnsTheDefault() {
        var p = compile(new Spec.Seccomp("SCMP_ACT_LOG", null, null, null, null, null, null));
        assertEquals(LOG, run(p, NR64_GETPID, X86_64));
        assertEquals(KILL_PROCESS, run(p, NR64_GETPID, I386));
    }

    @Test
    void parsedFromConfigJson() {
        String json = """
                {"seccomp": {
                  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                  "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                  "syscalls": [
                    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 1, "value": 18446744073709551615, "op": "SCMP_CMP_NE"}]},
                    {"names": ["mmap"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12,
                     "args": [{"index": 2, "value": 4, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]}
                  ]}}""";
        var p = compile(Spec.Seccomp.from(JsonNode.parse("config.json", json).get("seccomp")));
        assertEquals(4, p.flags());
        assertEquals(ALLOW, run(p, 0, X86_64));
        assertEquals(ALLOW, run(p, NR32_READ, I386));
        assertEquals(ERRNO | 38, run(p, NR64_GETPID, X86_64));
        assertEquals(ALLOW, run(p, NR64_PERSONALITY, X86_64, 0xFFFFFFFFL));
        assertEquals(ERRNO | 38, run(p, NR64_PERSONALITY, X86_64, 0x1_FFFF_FFFFL));
        assertEquals(ALLOW, run(p, 16, X86_64, 3, 0x5401));
        assertEquals(ERRNO | 38, run(p, 16, X86_64, 3, -1L));
        assertEquals(ERRNO | 12, run(p, 9, X86_64, 0, 4096, 7), "PROT_EXEC mapping");
        assertEquals(ERRNO | 38, run(p, 9, X86_64, 0, 4096, 3), "no rule matches: default");
    }

    @Test
    void theAssemblerWidensFarJumps() {
        Assembler asm = new Assembler();
        Assembler.Label far = asm.label();
        Assembler.Label farRet = asm.label();
        Assembler.Label farToo = asm.label();
        asm.load(0);
        asm.jump(0x10, 7, far, null);       // JEQ 7 -> far (a JA trampoline)
        asm.jump(0x10, 8, farRet, null);    // JEQ 8 -> farRet (a RET copy)
        asm.jump(0x35, 100, farToo, far);   // JGE 100 -> farToo, else far: two trampolines
        for (int i = 0; i < 300; i++) {
            asm.ret(i);
        }
        asm.bind(far);
        Assembler.Label missedAnd = asm.label();
        asm.and(0);                         // landing one instruction late would skip this
        asm.jump(0x10, 0, null, missedAnd);
        asm.ret(1000);
        asm.bind(missedAnd);
        asm.ret(1001);
        asm.bind(farRet);
        asm.ret(2000);
        asm.bind(farToo);
        asm.load(16);
        asm.ret(3000);
        byte[] code = asm.assemble();
        var p = new SeccompCompiler.Program(code, code.length / 8, 0, false, List.of());
        assertKernelAccepts(p);
        assertEquals(1 + 2 + 2 + 3 + 300 + 4 + 1 + 2, p.instructionCount());
        assertEquals(1000, run(p, 7, 0));
        assertEquals(2000, run(p, 8, 0));
        assertEquals(3000, run(p, 100, 0));
        assertEquals(1000, run(p, 99, 0));
        ByteBuffer b = ByteBuffer.wrap(code).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x06, b.getShort(8 * 4), "a far jump to a RET is a copy of it");
        assertEquals(2000, b.getInt(8 * 4 + 4));
    }

    @Test
    void tooManyInstructions() {
        List<String> names = tableNames(SyscallTable.X86_64).subList(0, 300);
        Spec.Syscall[] rules = new Spec.Syscall[names.size()];
        for (int i = 0; i < rules.length; i++) {   // distinct conditions: no two system calls share code
            rules[i] = rule("SCMP_ACT_ERRNO", List.of(names.get(i)),
                    arg(0, "GT", i, 0), arg(1, "GT", i, 0), arg(2, "GT", i, 0));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> SeccompCompiler.compile(
                profile("SCMP_ACT_ALLOW", List.of(), rules)));
        assertTrue(e.getMessage().startsWith("config.json: linux.seccomp compiles to "), e.getMessage());
        assertTrue(e.getMessage().endsWith("the kernel takes at most 4096"), e.getMessage());
    }

    @Test
    void malformedProfilesNameTheField() {
        Spec.Syscall mkdir = rule("SCMP_ACT_ERRNO", List.of("mkdir"));
        Function<Spec.Syscall, Spec.Seccomp> one = s -> profile("SCMP_ACT_ALLOW", List.of(), mkdir, s);
        assertError("linux.seccomp.defaultAction is not a seccomp action: \"SCMP_ACT_NOPE\"",
                profile("SCMP_ACT_NOPE", List.of()));
        assertError("linux.seccomp.defaultAction is not a seccomp action: null", profile(null, List.of()));
        assertError("linux.seccomp.defaultAction cannot be SCMP_ACT_NOTIFY",
                profile("SCMP_ACT_NOTIFY", List.of()));
        assertError("linux.seccomp.defaultErrnoRet must be 0 to 4095 for SCMP_ACT_ERRNO, not 5000",
                new Spec.Seccomp("SCMP_ACT_ERRNO", 5000, List.of(), List.of(), null, null, List.of()));
        assertError("linux.seccomp.architectures[1] is not a seccomp architecture: \"SCMP_ARCH_Z80\"",
                profile("SCMP_ACT_ALLOW", List.of("SCMP_ARCH_X86", "SCMP_ARCH_Z80")));
        assertError("linux.seccomp.architectures[0] is not a seccomp architecture: null",
                profile("SCMP_ACT_ALLOW", Arrays.asList((String) null)));
        assertError("linux.seccomp.flags[0] is not a seccomp flag: \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"",
                new Spec.Seccomp("SCMP_ACT_ALLOW", null, List.of(), List.of("SECCOMP_FILTER_FLAG_NEW_LISTENER"),
                        null, null, List.of()));
        assertError("linux.seccomp.syscalls[1].action is not a seccomp action: \"ALLOW\"",
                one.apply(rule("ALLOW", List.of("read"))));
        assertError("linux.seccomp.syscalls[1].errnoRet must be 0 to 4095 for SCMP_ACT_ERRNO, not -1",
                one.apply(rule("SCMP_ACT_ERRNO", -1, List.of("read"))));
        assertError("linux.seccomp.syscalls[1].names must name at least one system call",
                one.apply(rule("SCMP_ACT_ERRNO", List.of())));
        assertError("linux.seccomp.syscalls[1].names[1] must not be empty",
                one.apply(rule("SCMP_ACT_ERRNO", List.of("read", ""))));
        assertError("linux.seccomp.syscalls[1].args[1].index must be 0 to 5, not 6",
                one.apply(rule("SCMP_ACT_ERRNO", List.of("read"), arg(0, "EQ", 1, 0), arg(6, "EQ", 1, 0))));
        assertError("linux.seccomp.syscalls[1].args[0].op is not a comparison: \"SCMP_CMP_BETWEEN\"",
                one.apply(rule("SCMP_ACT_ERRNO", List.of("read"), arg(0, "BETWEEN", 1, 0))));
        assertError("linux.seccomp.syscalls[1].names[0] \"write\" cannot use SCMP_ACT_NOTIFY",
                new Spec.Seccomp("SCMP_ACT_ALLOW", null, List.of(), List.of(), "/run/a.sock", null,
                        List.of(mkdir, rule("SCMP_ACT_NOTIFY", List.of("write")))));
        assertError("linux.seccomp.listenerPath must be set when a rule uses SCMP_ACT_NOTIFY",
                one.apply(rule("SCMP_ACT_NOTIFY", List.of("read"))));
        assertError("linux.seccomp.syscalls[1] must be an object", new Spec.Seccomp("SCMP_ACT_ALLOW", null,
                List.of(), List.of(), null, null, Arrays.asList(mkdir, null)));
        assertThrows(NullPointerException.class, () -> SeccompCompiler.compile(null));
    }

    @Test
    void specParserErrorsComeFirst() {
        var e = assertThrows(IllegalArgumentException.class, () -> Spec.Seccomp.from(JsonNode.parse("config.json",
                "{\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
                        + " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 9, \"value\": 1,"
                        + " \"op\": \"SCMP_CMP_EQ\"}]}]}}").get("seccomp")));
        assertTrue(e.getMessage().contains("syscalls[0].args[0].index"), e.getMessage());
    }

    // ---- helpers ---------------------------------------------------------------------------------

    static void assertError(String expected, Spec.Seccomp profile) {
        var e = assertThrows(IllegalArgumentException.class, () -> SeccompCompiler.compile(profile));
        assertTrue(e.getMessage().startsWith("config.json: " + expected),
                () -> "expected \"config.json: " + expected + "...\", got \"" + e.getMessage() + "\"");
    }

    static List<String> tableNames(String table) {
        String[] words = table.strip().split("\\s+");
        return Stream.iterate(0, i -> i < words.length, i -> i + 2).map(i -> words[i]).toList();
    }

    static boolean hasJa(SeccompCompiler.Program p) {
        ByteBuffer b = ByteBuffer.wrap(p.filter()).order(ByteOrder.LITTLE_ENDIAN);
        for (int pc = 0; pc < p.instructionCount(); pc++) {
            if ((b.getShort(8 * pc) & 0xffff) == 0x05) {
                return true;
            }
        }
        return false;
    }

    /** How many times {@code code k} occurs in the program. */
    static int count(SeccompCompiler.Program p, int code, int k) {
        ByteBuffer b = ByteBuffer.wrap(p.filter()).order(ByteOrder.LITTLE_ENDIAN);
        int n = 0;
        for (int pc = 0; pc < p.instructionCount(); pc++) {
            if ((b.getShort(8 * pc) & 0xffff) == code && b.getInt(8 * pc + 4) == k) {
                n++;
            }
        }
        return n;
    }
}
