package io.vessel.runtime.cli;

import io.vessel.runtime.spec.Resources;

import java.util.List;
import java.util.Map;

/** {@code update}'s flags (--memory, --cpu-quota, ...) as a Resources value, runc's names and units. */
final class UpdateFlags {
    private UpdateFlags() {
    }

    static Resources resources(Args a) throws Args.UsageError {
        Resources.Memory mem = null;
        if (a.value("memory") != null || a.value("memory-reservation") != null || a.value("memory-swap") != null) {
            mem = new Resources.Memory(bytes(a, "memory"), bytes(a, "memory-reservation"), bytes(a, "memory-swap"),
                    null, null, null);
        }
        Resources.Cpu cpu = null;
        if (a.value("cpu-shares") != null || a.value("cpu-quota") != null || a.value("cpu-period") != null
                || a.value("cpuset-cpus") != null || a.value("cpuset-mems") != null
                || a.value("cpu-rt-period") != null || a.value("cpu-rt-runtime") != null) {
            cpu = new Resources.Cpu(number(a, "cpu-shares"), number(a, "cpu-quota"), null, number(a, "cpu-period"),
                    number(a, "cpu-rt-runtime"), number(a, "cpu-rt-period"), a.value("cpuset-cpus"),
                    a.value("cpuset-mems"), null);
        }
        Resources.BlockIO blkio = null;
        if (a.value("blkio-weight") != null) {
            blkio = new Resources.BlockIO(number(a, "blkio-weight").intValue(), null, List.of(), List.of(), List.of(),
                    List.of(), List.of());
        }
        return new Resources(List.of(), mem, cpu, number(a, "pids-limit"), blkio, List.of(), Map.of());
    }

    private static Long number(Args a, String name) throws Args.UsageError {
        String v = a.value(name);
        if (v == null) {
            return null;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new Args.UsageError("--" + name + " must be a number, not \"" + v + "\"");
        }
    }

    /** A size like 512m, 1g, 1048576 or -1. */
    static Long bytes(Args a, String name) throws Args.UsageError {
        String v = a.value(name);
        if (v == null) {
            return null;
        }
        String s = v.trim().toLowerCase(java.util.Locale.ROOT);
        long mult = 1;
        if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        switch (s.isEmpty() ? ' ' : s.charAt(s.length() - 1)) {
            case 'k' -> mult = 1L << 10;
            case 'm' -> mult = 1L << 20;
            case 'g' -> mult = 1L << 30;
            case 't' -> mult = 1L << 40;
            default -> mult = 1;
        }
        if (mult != 1) {
            s = s.substring(0, s.length() - 1);
        }
        try {
            long n = Long.parseLong(s);
            return n < 0 ? -1 : n * mult;
        } catch (NumberFormatException e) {
            throw new Args.UsageError("--" + name + " must be a size like 512m, not \"" + v + "\"");
        }
    }
}
