package io.vessel.runtime.seccomp;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A system call ABI a filter can admit on an x86_64 host: its OCI name, the {@code seccomp_data.arch}
 * token the kernel reports for it, and its system call numbers.
 */
enum Arch {
    X86_64("SCMP_ARCH_X86_64", Bpf.AUDIT_ARCH_X86_64, 0, false, SyscallTable.X86_64),
    X86("SCMP_ARCH_X86", Bpf.AUDIT_ARCH_I386, 0, true, SyscallTable.I386),
    /** x32 reports AUDIT_ARCH_X86_64 too; its numbers are told apart by __X32_SYSCALL_BIT. */
    X32("SCMP_ARCH_X32", Bpf.AUDIT_ARCH_X86_64, Bpf.X32_SYSCALL_BIT, true, SyscallTable.X32);

    /** The ABI of this host; a filter always admits it, as libseccomp's seccomp_init does. */
    static final Arch NATIVE = X86_64;

    /** Valid OCI architecture names that cannot occur on an x86_64 host; profiles list them, we skip them. */
    static final Set<String> FOREIGN = Set.of("SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",
            "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
            "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
            "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV32",
            "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB");

    final String ociName;
    final int auditArch;
    /** Added to every table number to get the number the filter sees. */
    final int nrBits;
    /**
     * Whether arguments are compared on their low 32 bits only. libseccomp treats i386 and x32 as
     * 32-bit ABIs and truncates rule values; the kernel zero-extends i386 arguments anyway.
     */
    final boolean narrowArgs;
    private final Map<String, Integer> numbers;

    Arch(String ociName, int auditArch, int nrBits, boolean narrowArgs, String table) {
        this.ociName = ociName;
        this.auditArch = auditArch;
        this.nrBits = nrBits;
        this.narrowArgs = narrowArgs;
        this.numbers = parse(table);
    }

    /** The number the filter sees for {@code name}, or -1 if this ABI has no such system call. */
    int number(String name) {
        Integer nr = numbers.get(name);
        return nr == null ? -1 : nr | nrBits;
    }

    /** The ABI with this OCI name, or null. */
    static Arch byOciName(String name) {
        for (Arch a : values()) {
            if (a.ociName.equals(name)) {
                return a;
            }
        }
        return null;
    }

    private static Map<String, Integer> parse(String table) {
        String[] words = table.strip().split("\\s+");
        Map<String, Integer> map = HashMap.newHashMap(words.length / 2);
        for (int i = 0; i + 1 < words.length; i += 2) {
            map.put(words[i], Integer.parseInt(words[i + 1]));
        }
        return Map.copyOf(map);
    }
}
