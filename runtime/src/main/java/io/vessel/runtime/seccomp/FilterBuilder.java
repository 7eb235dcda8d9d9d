package io.vessel.runtime.seccomp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Lays out a seccomp filter from resolved rules.
 *
 * <pre>
 *   load arch; one JEQ per admitted arch token; else RET bad-arch
 *   per arch token: load nr; [x32/x86_64 split]; binary search (JGE) over the intervals of
 *                   numbers with one outcome: a RET, a rule block, or the default action
 *   per distinct list of rules with conditions: the rules in profile order, each falling through
 *                   to the next on a mismatch, the last to the default action
 *   the shared RET instructions
 * </pre>
 */
final class FilterBuilder {
    /** seccomp_data.nr is compared as an unsigned 32-bit word. */
    private static final long MAX_NR = 0xFFFF_FFFFL;
    /** The number a tracer sets to skip a system call; never sent to the bad-arch action (seccomp(2)). */
    private static final int SKIPPED_SYSCALL = -1;

    /** The rules of one system call number, on an ABI that compares 32- or 64-bit arguments. */
    private record Entry(int nr, boolean narrowArgs, List<Rule> rules) {
    }

    /** Code for a list of rules; system calls with equal rules (one profile entry) share it. */
    private record Block(boolean narrowArgs, List<Rule> rules) {
    }

    private final Assembler asm = new Assembler();
    private final Map<Integer, Assembler.Label> returns = new LinkedHashMap<>();
    private final Assembler.Label defaultReturn;
    private final Assembler.Label badArchReturn;

    private FilterBuilder(int defaultRet, int badArchRet) {
        defaultReturn = returnTo(defaultRet);
        badArchReturn = returnTo(badArchRet);
    }

    /**
     * Builds the filter.
     *
     * @param arches admitted ABIs (non-empty)
     * @param rules  per ABI, per system call number (as the filter sees it), the rules in profile order;
     *               each list non-empty, only its last rule may be unconditional
     */
    static byte[] build(int defaultRet, int badArchRet, Set<Arch> arches,
                        Map<Arch, SortedMap<Integer, List<Rule>>> rules) {
        FilterBuilder b = new FilterBuilder(defaultRet, badArchRet);
        Map<Integer, List<Arch>> byToken = new LinkedHashMap<>();
        for (Arch a : arches) {
            byToken.computeIfAbsent(a.auditArch, t -> new ArrayList<>()).add(a);
        }
        b.emit(byToken, rules);
        return b.asm.assemble();
    }

    private void emit(Map<Integer, List<Arch>> byToken, Map<Arch, SortedMap<Integer, List<Rule>>> rules) {
        asm.load(Bpf.DATA_ARCH);
        Map<Integer, Assembler.Label> sections = new LinkedHashMap<>();
        int left = byToken.size();
        for (int token : byToken.keySet()) {
            Assembler.Label section = asm.label();
            sections.put(token, section);
            asm.jump(Bpf.JEQ, token, section, --left == 0 ? badArchReturn : null);
        }
        for (var e : byToken.entrySet()) {
            asm.bind(sections.get(e.getKey()));
            section(e.getValue(), rules);
        }
        for (var r : returns.entrySet()) {
            asm.bind(r.getValue());
            asm.ret(r.getKey());
        }
    }

    /** The ABIs sharing one arch token: x86_64 and x32 share AUDIT_ARCH_X86_64. */
    private void section(List<Arch> arches, Map<Arch, SortedMap<Integer, List<Rule>>> rules) {
        asm.load(Bpf.DATA_NR);
        if (arches.contains(Arch.X86_64) && !arches.contains(Arch.X32)) {
            // x32 numbers on the x86_64 token are a foreign ABI, like libseccomp's "filter out x32".
            Assembler.Label below = asm.label();
            asm.jump(Bpf.JGE, Bpf.X32_SYSCALL_BIT, null, below);
            asm.jump(Bpf.JEQ, SKIPPED_SYSCALL, defaultReturn, badArchReturn);
            asm.bind(below);
        } else if (arches.contains(Arch.X32) && !arches.contains(Arch.X86_64)) {
            asm.jump(Bpf.JGE, Bpf.X32_SYSCALL_BIT, null, badArchReturn);
        }
        List<Entry> entries = new ArrayList<>();
        for (Arch a : arches) {
            rules.getOrDefault(a, new TreeMap<>())
                    .forEach((nr, list) -> entries.add(new Entry(nr, a.narrowArgs, list)));
        }
        entries.sort((x, y) -> Integer.compareUnsigned(x.nr, y.nr));

        // Cut the number space into intervals of equal outcome: a shared RET, a rule block, or the default.
        Intervals intervals = new Intervals();
        Map<Block, Assembler.Label> blocks = new LinkedHashMap<>();
        long next = 0;
        for (Entry e : entries) {
            long nr = Integer.toUnsignedLong(e.nr);
            if (nr > next) {
                intervals.add(next, defaultReturn);
            }
            Assembler.Label target;
            if (e.rules.size() == 1 && e.rules.getFirst().unconditional()) {
                target = returnTo(e.rules.getFirst().returnValue());
            } else {
                target = blocks.computeIfAbsent(new Block(e.narrowArgs, e.rules), b -> asm.label());
            }
            intervals.add(nr, target);
            next = nr + 1;
        }
        if (next <= MAX_NR) {
            intervals.add(next, defaultReturn);
        }
        if (intervals.size() == 1) {
            asm.jumpAlways(intervals.targets.getFirst());
        } else {
            search(intervals, 0, intervals.size() - 1);
        }
        blocks.forEach((b, label) -> {
            asm.bind(label);
            rules(b);
        });
    }

    /** Consecutive intervals of system call numbers; interval i starts at starts[i] and leads to targets[i]. */
    private static final class Intervals {
        final List<Long> starts = new ArrayList<>();
        final List<Assembler.Label> targets = new ArrayList<>();

        /** Appends [start, ...), merged into the previous interval when it leads to the same place. */
        void add(long start, Assembler.Label target) {
            if (targets.isEmpty() || targets.getLast() != target) {
                starts.add(start);
                targets.add(target);
            }
        }

        int size() {
            return starts.size();
        }
    }

    /** Binary search (unsigned JGE) for the number in A over intervals[lo..hi], lo < hi. */
    private void search(Intervals in, int lo, int hi) {
        int mid = (lo + hi + 1) >>> 1;
        Assembler.Label upper = mid == hi ? in.targets.get(hi) : asm.label();
        Assembler.Label lower = mid - 1 == lo ? in.targets.get(lo) : null;
        asm.jump(Bpf.JGE, (int) (long) in.starts.get(mid), upper, lower);
        if (lower == null) {
            search(in, lo, mid - 1);
        }
        if (mid != hi) {
            asm.bind(upper);
            search(in, mid, hi);
        }
    }

    /** The rules of one system call, first match wins; no match returns the default action. */
    private void rules(Block b) {
        for (int i = 0; i < b.rules.size(); i++) {
            Rule rule = b.rules.get(i);
            boolean last = i == b.rules.size() - 1;
            Assembler.Label mismatch = last ? defaultReturn : asm.label();
            for (Rule.Condition c : rule.conditions()) {
                if (b.narrowArgs) {
                    compare32(c, mismatch);
                } else {
                    compare64(c, mismatch);
                }
            }
            asm.ret(rule.returnValue());
            if (!last) {
                asm.bind(mismatch);
            }
        }
    }

    /** Falls through when the condition holds on the low words, else jumps to {@code mismatch}. */
    private void compare32(Rule.Condition c, Assembler.Label mismatch) {
        int value = (int) c.value();
        asm.load(Bpf.argLow(c.index()));
        switch (c.op()) {
            case EQ -> asm.jump(Bpf.JEQ, value, null, mismatch);
            case NE -> asm.jump(Bpf.JEQ, value, mismatch, null);
            case GT -> asm.jump(Bpf.JGT, value, null, mismatch);
            case GE -> asm.jump(Bpf.JGE, value, null, mismatch);
            case LT -> asm.jump(Bpf.JGE, value, mismatch, null);
            case LE -> asm.jump(Bpf.JGT, value, mismatch, null);
            case MASKED_EQ -> {
                asm.and(value);
                asm.jump(Bpf.JEQ, (int) c.valueTwo(), null, mismatch);
            }
        }
    }

    /**
     * Falls through when the 64-bit condition holds, else jumps to {@code mismatch}. Ordered
     * comparisons decide on the high words unless they are equal, then on the low words.
     */
    private void compare64(Rule.Condition c, Assembler.Label mismatch) {
        int hi = (int) (c.value() >>> 32);
        int lo = (int) c.value();
        Assembler.Label match = asm.label();
        asm.load(Bpf.argHigh(c.index()));
        switch (c.op()) {
            case EQ -> {
                asm.jump(Bpf.JEQ, hi, null, mismatch);
                asm.load(Bpf.argLow(c.index()));
                asm.jump(Bpf.JEQ, lo, null, mismatch);
            }
            case NE -> {
                asm.jump(Bpf.JEQ, hi, null, match);
                asm.load(Bpf.argLow(c.index()));
                asm.jump(Bpf.JEQ, lo, mismatch, null);
            }
            case GT, GE -> {
                asm.jump(Bpf.JGT, hi, match, null);
                asm.jump(Bpf.JEQ, hi, null, mismatch);
                asm.load(Bpf.argLow(c.index()));
                asm.jump(c.op() == Rule.Op.GT ? Bpf.JGT : Bpf.JGE, lo, null, mismatch);
            }
            case LT, LE -> {
                asm.jump(Bpf.JGT, hi, mismatch, null);
                asm.jump(Bpf.JEQ, hi, null, match);
                asm.load(Bpf.argLow(c.index()));
                asm.jump(c.op() == Rule.Op.LT ? Bpf.JGE : Bpf.JGT, lo, mismatch, null);
            }
            case MASKED_EQ -> {
                asm.and(hi);
                asm.jump(Bpf.JEQ, (int) (c.valueTwo() >>> 32), null, mismatch);
                asm.load(Bpf.argLow(c.index()));
                asm.and(lo);
                asm.jump(Bpf.JEQ, (int) c.valueTwo(), null, mismatch);
            }
        }
        asm.bind(match);
    }

    /** The shared {@code RET value} instruction at the end of the program. */
    private Assembler.Label returnTo(int value) {
        return returns.computeIfAbsent(value, v -> asm.label());
    }
}
