package io.vessel.runtime.container;

/** Phase timestamps on stderr when VESSEL_TRACE is set: where a command's time goes. */
public final class Trace {
    private static final boolean ON = System.getenv("VESSEL_TRACE") != null;
    private static final long START = System.nanoTime();

    private Trace() {
    }

    public static void mark(String phase) {
        if (ON) {
            long us = (System.nanoTime() - START) / 1000;
            System.err.println("vessel-runtime: +" + us / 1000 + "." + us / 100 % 10 + " ms " + phase);
        }
    }
}
