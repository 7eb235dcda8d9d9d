package io.vessel.runtime.seccomp;

import io.vessel.runtime.spec.Spec;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Compiles an OCI seccomp profile ({@code linux.seccomp}) to the classic BPF program that
 * {@code seccomp(SECCOMP_SET_MODE_FILTER)} takes, behaving like runc with libseccomp on an x86_64 host.
 *
 * <ul>
 *   <li>ABIs: x86_64 is always admitted (as libseccomp's {@code seccomp_init}); SCMP_ARCH_X86 and
 *       SCMP_ARCH_X32 add i386 and x32; other valid OCI architectures are skipped. A system call from an
 *       ABI not admitted gets SECCOMP_RET_KILL_PROCESS, including x32 numbers when x32 is not admitted
 *       (except nr -1, which tracers use to skip a call).</li>
 *   <li>Names that are not a system call on any admitted ABI are ignored, as runc does, and listed in
 *       {@link Program#ignoredSyscalls()}.</li>
 *   <li>Rules whose action equals the default action are dropped, as runc does. Other rules of one
 *       system call are tried in profile order and the first match wins; no match gives the default.</li>
 *   <li>A rule's conditions are ANDed, except that a rule comparing one argument index twice becomes one
 *       rule per condition (ORed), as runc does. 64-bit comparisons on x86_64; on i386 and x32 the low
 *       32 bits only (libseccomp's 32-bit ABIs).</li>
 *   <li>SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry {@code errnoRet}, EPERM when absent.</li>
 * </ul>
 */
public final class SeccompCompiler {
    private static final String WHERE = "config.json: linux.seccomp";
    /** runc: the runtime must still write to its parent after loading the filter. */
    private static final String NOTIFY_FORBIDDEN = "write";

    private SeccompCompiler() {
    }

    /**
     * A compiled filter.
     *
     * @param filter           the program as the kernel takes it: struct sock_filter {u16 code; u8 jt;
     *                         u8 jf; u32 k;}, 8 bytes each, little-endian (not copied: do not modify)
     * @param instructionCount the number of instructions, {@code filter.length / 8}
     * @param flags            SECCOMP_FILTER_FLAG_* bits for seccomp(2): the profile's flags, plus
     *                         NEW_LISTENER when a rule notifies (and TSYNC_ESRCH if TSYNC is set, which the
     *                         kernel requires with NEW_LISTENER); WAIT_KILLABLE_RECV only with a listener
     * @param needsListener    a rule uses SCMP_ACT_NOTIFY: seccomp(2) returns a listener fd to pass on
     *                         to {@code linux.seccomp.listenerPath}
     * @param ignoredSyscalls  names in the profile that are no system call on any admitted ABI
     */
    public record Program(byte[] filter, int instructionCount, long flags, boolean needsListener,
                          List<String> ignoredSyscalls) {
        public Program {
            Objects.requireNonNull(filter, "filter");
            if (filter.length != instructionCount * Bpf.INSN_SIZE) {
                throw new IllegalArgumentException("filter is " + filter.length + " bytes, not "
                        + instructionCount + " instructions");
            }
            ignoredSyscalls = List.copyOf(ignoredSyscalls);
        }
    }

    /**
     * Compiles {@code profile}.
     *
     * @throws IllegalArgumentException naming the offending field of config.json, e.g.
     *         {@code config.json: linux.seccomp.syscalls[3].args[0].index must be 0 to 5, not 7}, or if
     *         the program would exceed the kernel's 4096 instructions
     */
    public static Program compile(Spec.Seccomp profile) {
        Objects.requireNonNull(profile, "profile");
        Action dflt = action(profile.defaultAction(), "defaultAction");
        if (dflt == Action.NOTIFY) {
            throw fail("defaultAction", "cannot be SCMP_ACT_NOTIFY: the runtime must still write to its"
                    + " parent after loading the filter");
        }
        int defaultRet = returnValue(dflt, profile.defaultErrnoRet(), "defaultErrnoRet");
        Set<Arch> arches = arches(profile.architectures());

        Map<Arch, SortedMap<Integer, List<Rule>>> rules = new EnumMap<>(Arch.class);
        Set<String> ignored = new LinkedHashSet<>();
        boolean notify = false;
        List<Spec.Syscall> syscalls = profile.syscalls() == null ? List.of() : profile.syscalls();
        for (int i = 0; i < syscalls.size(); i++) {
            String at = "syscalls[" + i + "]";
            Spec.Syscall s = syscalls.get(i);
            if (s == null) {
                throw fail(at, "must be an object");
            }
            Action action = action(s.action(), at + ".action");
            int ret = returnValue(action, s.errnoRet(), at + ".errnoRet");
            List<Rule> compiled = rules(ret, s.args(), at + ".args");
            if (s.names() == null || s.names().isEmpty()) {
                throw fail(at + ".names", "must name at least one system call");
            }
            notify |= action == Action.NOTIFY;
            for (int j = 0; j < s.names().size(); j++) {
                String name = s.names().get(j);
                String nameAt = at + ".names[" + j + "]";
                if (name == null || name.isEmpty()) {
                    throw fail(nameAt, "must not be empty");
                }
                if (action == Action.NOTIFY && name.equals(NOTIFY_FORBIDDEN)) {
                    throw fail(nameAt, "\"write\" cannot use SCMP_ACT_NOTIFY: the runtime must still write to"
                            + " its parent after loading the filter");
                }
                boolean known = false;
                for (Arch a : arches) {
                    int nr = a.number(name);
                    if (nr == -1) {
                        continue;
                    }
                    known = true;
                    if (ret != defaultRet) {
                        rules.computeIfAbsent(a, k -> new TreeMap<>())
                                .computeIfAbsent(nr, k -> new ArrayList<>()).addAll(compiled);
                    }
                }
                if (!known) {
                    ignored.add(name);
                }
            }
        }
        rules.values().forEach(byNr -> byNr.values().forEach(SeccompCompiler::dropUnreachable));

        if (notify && (profile.listenerPath() == null || profile.listenerPath().isEmpty())) {
            throw fail("listenerPath", "must be set when a rule uses SCMP_ACT_NOTIFY");
        }
        long flags = flags(profile.flags(), notify);
        byte[] filter = FilterBuilder.build(defaultRet, Bpf.RET_KILL_PROCESS, arches, rules);
        int count = filter.length / Bpf.INSN_SIZE;
        if (count > Bpf.MAXINSNS) {
            throw fail("", "compiles to " + count + " BPF instructions; the kernel takes at most "
                    + Bpf.MAXINSNS);
        }
        return new Program(filter, count, flags, notify, List.copyOf(ignored));
    }

    private static Action action(String name, String field) {
        Action a = Action.byOciName(name);
        if (a == null) {
            throw fail(field, "is not a seccomp action: " + quote(name) + " (one of "
                    + Spec.Seccomp.ACTIONS + ")");
        }
        return a;
    }

    private static int returnValue(Action action, Integer errnoRet, String field) {
        if (action.takesData() && errnoRet != null && (errnoRet < 0 || errnoRet > action.maxData())) {
            throw fail(field, "must be 0 to " + action.maxData() + " for SCMP_ACT_" + action + ", not "
                    + errnoRet);
        }
        return action.returnValue(errnoRet);
    }

    private static Set<Arch> arches(List<String> names) {
        Set<Arch> arches = EnumSet.of(Arch.NATIVE);
        List<String> list = names == null ? List.of() : names;
        for (int i = 0; i < list.size(); i++) {
            String name = list.get(i);
            Arch a = Arch.byOciName(name);
            if (a != null) {
                arches.add(a);
            } else if (name == null || !Arch.FOREIGN.contains(name)) {
                throw fail("architectures[" + i + "]", "is not a seccomp architecture: " + quote(name));
            }
        }
        return arches;
    }

    /**
     * The rules one profile entry makes: one rule ANDing its conditions, or, when two conditions
     * compare the same argument, one rule per condition (runc's fallback for libseccomp).
     */
    private static List<Rule> rules(int ret, List<Spec.SyscallArg> args, String field) {
        List<Rule.Condition> conditions = new ArrayList<>();
        boolean repeated = false;
        boolean[] seen = new boolean[Bpf.MAX_ARGS];
        List<Spec.SyscallArg> list = args == null ? List.of() : args;
        for (int k = 0; k < list.size(); k++) {
            String at = field + "[" + k + "]";
            Spec.SyscallArg a = list.get(k);
            if (a == null) {
                throw fail(at, "must be an object");
            }
            if (a.index() < 0 || a.index() >= Bpf.MAX_ARGS) {
                throw fail(at + ".index", "must be 0 to " + (Bpf.MAX_ARGS - 1) + ", not " + a.index());
            }
            Rule.Op op = Rule.Op.byOciName(a.op());
            if (op == null) {
                throw fail(at + ".op", "is not a comparison: " + quote(a.op()) + " (one of "
                        + Spec.SyscallArg.OPS + ")");
            }
            repeated |= seen[a.index()];
            seen[a.index()] = true;
            conditions.add(new Rule.Condition(a.index(), op, a.value(), a.valueTwo()));
        }
        if (!repeated) {
            return List.of(new Rule(ret, conditions));
        }
        return conditions.stream().map(c -> new Rule(ret, List.of(c))).toList();
    }

    /** Rules after the first unconditional one can never match. */
    private static void dropUnreachable(List<Rule> rules) {
        for (int i = 0; i < rules.size(); i++) {
            if (rules.get(i).unconditional()) {
                rules.subList(i + 1, rules.size()).clear();
                return;
            }
        }
    }

    private static long flags(List<String> names, boolean listener) {
        long flags = 0;
        List<String> list = names == null ? List.of() : names;
        for (int i = 0; i < list.size(); i++) {
            String name = list.get(i);
            flags |= switch (name == null ? "" : name) {
                case "SECCOMP_FILTER_FLAG_TSYNC" -> Bpf.FLAG_TSYNC;
                case "SECCOMP_FILTER_FLAG_LOG" -> Bpf.FLAG_LOG;
                case "SECCOMP_FILTER_FLAG_SPEC_ALLOW" -> Bpf.FLAG_SPEC_ALLOW;
                case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" -> Bpf.FLAG_WAIT_KILLABLE_RECV;
                default -> throw fail("flags[" + i + "]", "is not a seccomp flag: " + quote(name) + " (one of "
                        + Spec.Seccomp.FLAGS + ")");
            };
        }
        if (!listener) {
            // The kernel rejects WAIT_KILLABLE_RECV without NEW_LISTENER; it only qualifies the listener.
            return flags & ~Bpf.FLAG_WAIT_KILLABLE_RECV;
        }
        flags |= Bpf.FLAG_NEW_LISTENER;
        if ((flags & Bpf.FLAG_TSYNC) != 0) {
            // The kernel rejects TSYNC with NEW_LISTENER unless TSYNC failures report ESRCH.
            flags |= Bpf.FLAG_TSYNC_ESRCH;
        }
        return flags;
    }

    private static String quote(String s) {
        return s == null ? "null" : "\"" + s + "\"";
    }

    private static IllegalArgumentException fail(String field, String message) {
        return new IllegalArgumentException(WHERE + (field.isEmpty() ? "" : "." + field) + " " + message);
    }
}
