package io.vessel.runtime.container;

import io.vessel.linux.Signals;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/** While a foreground container runs, the signals the runtime receives go to the container's process. */
final class ForwardSignals {
    private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP", "QUIT", "USR1", "USR2", "WINCH");

    private ForwardSignals() {
    }

    /** Installs the forwarding; the returned action restores the previous handlers. */
    @SuppressWarnings("removal")
    static Runnable install(IntConsumer target) {
        List<Runnable> restore = new ArrayList<>();
        for (String name : FORWARDED) {
            try {
                sun.misc.Signal sig = new sun.misc.Signal(name);
                sun.misc.SignalHandler old = sun.misc.Signal.handle(sig, s -> target.accept(Signals.parse(name)));
                restore.add(() -> sun.misc.Signal.handle(sig, old));
            } catch (IllegalArgumentException ignored) {
                // the JVM keeps this one for itself (e.g. QUIT with -Xrs unset); not forwarded
            }
        }
        return () -> restore.forEach(Runnable::run);
    }
}
