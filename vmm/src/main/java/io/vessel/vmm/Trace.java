package io.vessel.vmm;

/**
 * Phase timestamps on stderr when VESSEL_TRACE is set: where a VM's start-up and end go (JVM
 * start, KVM setup, loading, first guest instruction, teardown). Off, a mark costs one field read.
 * Times are from the JVM's launch when the kernel tells it (/proc/self/stat's start time, in clock
 * ticks), else from this class's initialisation.
 */
public final class Trace {
    private static final boolean ON = System.getenv("VESSEL_TRACE") != null;
    private static final long ORIGIN = ON ? origin() : 0;

    private Trace() {
    }

    public static boolean on() {
        return ON;
    }

    /** Marks {@code phase} as done now. */
    public static void mark(String phase) {
        if (ON) {
            at(phase, System.nanoTime());
        }
    }

    /** Marks {@code phase} as having happened at {@code nanos} (System.nanoTime's clock). */
    public static void at(String phase, long nanos) {
        if (ON) {
            long us = (nanos - ORIGIN) / 1000;
            System.err.println("vessel-vmm: +" + us / 1000 + "." + us / 100 % 10 + " ms " + phase);
        }
    }

    /**
     * The JVM's launch on System.nanoTime's clock: both it and /proc's times count from boot on
     * CLOCK_MONOTONIC-like clocks (nanoTime is CLOCK_MONOTONIC; the start time is in ticks of
     * CLOCK_BOOTTIME, equal to it unless the host has been suspended).
     */
    private static long origin() {
        long now = System.nanoTime();
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            // field 22 (starttime); fields are counted after the ")" that ends the command name
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[22 - 3]);
            long startNanos = ticks * (1_000_000_000L / CLOCK_TICKS_PER_SECOND);
            return startNanos <= now ? startNanos : now;
        } catch (java.io.IOException | RuntimeException e) {
            return now;
        }
    }

    /** USER_HZ, sysconf(_SC_CLK_TCK): 100 on every Linux architecture Vessel runs on. */
    private static final long CLOCK_TICKS_PER_SECOND = 100;
}
