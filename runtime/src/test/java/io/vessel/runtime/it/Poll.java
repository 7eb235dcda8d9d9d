package io.vessel.runtime.it;

/** Waiting for a condition the kernel or another process makes true soon: polled, with a deadline. */
final class Poll {
    private Poll() {
    }

    interface Check {
        boolean ok() throws Exception;
    }

    /** Polls every 25 ms for up to 10 s; fails naming {@code what}. */
    static void until(Check c, String what) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!c.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(25);
        }
    }
}
