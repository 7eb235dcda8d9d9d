package io.vessel.runtime.cgroup;

import java.time.Duration;

/**
 * Stopping and resuming every process of a cgroup: v1's freezer.state or v2's cgroup.freeze, each
 * waiting until the kernel reports the whole cgroup frozen (or thawed).
 */
sealed interface Freezer permits Freezer.V1, Freezer.V2 {
    /** How long freezing may take before it is undone and reported; a process stuck in the kernel can delay it. */
    Duration TIMEOUT = Duration.ofSeconds(5);
    /** v1 can stay FREEZING when a task escapes the first pass, so the request is repeated this often. */
    Duration REPEAT = Duration.ofMillis(100);
    /** Longest pause between two looks at the state: they start at 1 ms and double up to this. */
    long MAX_SLEEP_MILLIS = 10;

    void freeze() throws CgroupException;

    void thaw() throws CgroupException;

    boolean isFrozen() throws CgroupException;

    /** v1: "FROZEN" or "THAWED" written to freezer.state, which reads "FREEZING" on the way. */
    record V1(CgroupDir dir) implements Freezer {
        static final String STATE = "freezer.state", FROZEN = "FROZEN", THAWED = "THAWED";

        @Override
        public void freeze() throws CgroupException {
            dir.write(STATE, FROZEN);
            long start = System.nanoTime();
            long lastRequest = start;
            long sleep = 1;
            while (!dir.read(STATE).equals(FROZEN)) {
                long now = System.nanoTime();
                if (now - start > TIMEOUT.toNanos()) {
                    dir.write(STATE, THAWED);
                    throw new CgroupException("cgroup: freezing " + dir + ": not FROZEN after " + TIMEOUT.toSeconds()
                            + " s (" + dir.file(STATE) + " reads " + dir.read(STATE) + ")");
                }
                if (now - lastRequest > REPEAT.toNanos()) {
                    dir.write(STATE, FROZEN);
                    lastRequest = now;
                }
                sleep = pause(sleep);
            }
        }

        @Override
        public void thaw() throws CgroupException {
            dir.write(STATE, THAWED);
            long start = System.nanoTime();
            long sleep = 1;
            while (!dir.read(STATE).equals(THAWED)) {
                if (System.nanoTime() - start > TIMEOUT.toNanos()) {
                    throw new CgroupException("cgroup: thawing " + dir + ": " + dir.file(STATE) + " still reads "
                            + dir.read(STATE));
                }
                sleep = pause(sleep);
            }
        }

        @Override
        public boolean isFrozen() throws CgroupException {
            return dir.has(STATE) && dir.read(STATE).equals(FROZEN);
        }
    }

    /** v2: 1 or 0 written to cgroup.freeze; cgroup.events says "frozen 1" once every process has stopped. */
    record V2(CgroupDir dir) implements Freezer {
        static final String FREEZE = "cgroup.freeze", EVENTS = "cgroup.events";

        @Override
        public void freeze() throws CgroupException {
            dir.write(FREEZE, "1");
            if (!await(true)) {
                dir.write(FREEZE, "0");
                throw new CgroupException("cgroup: freezing " + dir + ": " + dir.file(EVENTS) + " does not say frozen 1 after "
                        + TIMEOUT.toSeconds() + " s");
            }
        }

        @Override
        public void thaw() throws CgroupException {
            dir.write(FREEZE, "0");
            if (!await(false)) {
                throw new CgroupException("cgroup: thawing " + dir + ": " + dir.file(EVENTS) + " still says frozen 1");
            }
        }

        @Override
        public boolean isFrozen() throws CgroupException {
            return dir.keyed(EVENTS).getOrDefault("frozen", 0L) == 1;
        }

        private boolean await(boolean frozen) throws CgroupException {
            long start = System.nanoTime();
            long sleep = 1;
            while (isFrozen() != frozen) {
                if (System.nanoTime() - start > TIMEOUT.toNanos()) {
                    return false;
                }
                sleep = pause(sleep);
            }
            return true;
        }
    }

    /** Sleeps {@code millis} and returns the next, longer, sleep. */
    private static long pause(long millis) throws CgroupException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CgroupException("cgroup: interrupted while waiting for the freezer");
        }
        return Math.min(millis * 2, MAX_SLEEP_MILLIS);
    }
}
