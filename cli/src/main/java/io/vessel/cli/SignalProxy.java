package io.vessel.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * docker run's signal proxy: SIGINT and SIGTERM that reach the command while it is attached to a
 * container without a tty are sent to the container (by the daemon's kill) instead of ending the
 * command, which then ends with the container's status.
 */
final class SignalProxy {
    private static final List<String> PROXIED = List.of("INT", "TERM");

    private SignalProxy() {
    }

    /**
     * Installs the proxy (only when this process's own signals are the command's, not in a test's or
     * the training's JVM); returns the previous handlers for {@link #remove}.
     */
    static List<Object> install(boolean ownProcess, Consumer<String> send) {
        if (!ownProcess) {
            return List.of();
        }
        List<Object> previous = new ArrayList<>();
        for (String name : PROXIED) {
            previous.add(sun.misc.Signal.handle(new sun.misc.Signal(name), s -> send.accept("SIG" + s.getName())));
        }
        return previous;
    }

    static void remove(List<Object> previous) {
        for (int i = 0; i < previous.size(); i++) {
            if (previous.get(i) instanceof sun.misc.SignalHandler h) {
                sun.misc.Signal.handle(new sun.misc.Signal(PROXIED.get(i)), h);
            }
        }
    }
}
