package io.vessel.cli;

/**
 * SIGWINCH, the terminal's "my size changed", through the JDK's signal API (jdk.unsupported's
 * sun.misc.Signal, the only way a JVM takes a signal other than its own shutdown ones).
 */
final class Winch {
    private static final String SIGNAL = "WINCH";

    private Winch() {
    }

    /** Calls {@code onResize} on every SIGWINCH until {@link #remove}; returns the previous handler. */
    static Object install(Runnable onResize) {
        return sun.misc.Signal.handle(new sun.misc.Signal(SIGNAL), s -> onResize.run());
    }

    /** Puts back the handler that {@link #install} replaced. */
    static void remove(Object previous) {
        if (previous instanceof sun.misc.SignalHandler h) {
            sun.misc.Signal.handle(new sun.misc.Signal(SIGNAL), h);
        }
    }
}
