package io.vessel.vmm.ratelimit;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task once after a delay: how a throttled device resumes when its tokens are back. The
 * VMM may back it with a timerfd in its event loop; {@link #shared()} is one daemon thread.
 */
@FunctionalInterface
public interface RefillTimer {
    void schedule(long delayNanos, Runnable task);

    /** A process-wide timer on one daemon thread. */
    static RefillTimer shared() {
        return Shared.TIMER;
    }

    /** Holder of the shared executor, made on first use. */
    final class Shared {
        private static final ScheduledExecutorService EXECUTOR = executor();
        static final RefillTimer TIMER = (delay, task) -> EXECUTOR.schedule(task, delay, TimeUnit.NANOSECONDS);

        private Shared() {
        }

        private static ScheduledExecutorService executor() {
            ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "vessel-rate-limit-timer");
                t.setDaemon(true);
                return t;
            });
            e.setRemoveOnCancelPolicy(true);
            return e;
        }
    }
}
