package io.vessel.vmm.ratelimit;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RateLimiterTest {
    static final long MS = 1_000_000L;

    @Test
    void bucketHoldsItsRateOverAWindow() {
        // 1000 tokens per 100 ms = 10 000 tokens/s; ask for 7 tokens every 0.1 ms for 2 s of fake time
        TokenBucket bucket = new TokenBucket(1000, 0, 100 * MS, 0);
        long granted = 0;
        for (long now = 0; now <= 2000 * MS; now += MS / 10) {
            if (bucket.consume(7, now)) {
                granted += 7;
            }
        }
        long expected = 1000 + 20_000; // the initial full bucket plus 2 s of refill
        assertTrue(granted <= expected, "granted " + granted);
        assertTrue(granted >= expected - 7 * 2, "granted " + granted);
    }

    @Test
    void oneTimeBurstIsSpentFirstAndNeverRefilled() {
        TokenBucket bucket = new TokenBucket(100, 500, 1000 * MS, 0);
        assertTrue(bucket.consume(600, 0));
        assertFalse(bucket.consume(1, 0));
        assertTrue(bucket.consume(100, 1000 * MS));
        assertFalse(bucket.consume(1, 1000 * MS), "the burst does not come back");
    }

    @Test
    void requestLargerThanTheBucketPassesWhenFullAndLeavesDebt() {
        TokenBucket bucket = new TokenBucket(100, 0, 100 * MS, 0);
        assertTrue(bucket.consume(250, 0));
        assertEquals(-150, bucket.available(0));
        assertFalse(bucket.consume(1, 100 * MS), "still paying back");
        assertEquals(250 * MS, bucket.nanosUntil(100, 0));
        assertTrue(bucket.consume(100, 250 * MS));
    }

    @Test
    void nanosUntilIsExact() {
        TokenBucket bucket = new TokenBucket(10, 0, 10 * MS, 0);
        assertTrue(bucket.consume(10, 0));
        long wait = bucket.nanosUntil(3, 0);
        assertEquals(3 * MS, wait);
        assertFalse(bucket.consume(3, wait - 1));
        assertTrue(bucket.consume(3, wait));
    }

    @Test
    void limiterTakesBothBucketsOrNeither() {
        AtomicLong clock = new AtomicLong();
        RateLimiter limiter = RateLimiter.of(1000, 0, 1000, 2, 0, 1000, clock::get);
        assertTrue(limiter.consume(600, 1));
        assertFalse(limiter.consume(600, 1), "bytes exhausted");
        assertTrue(limiter.consume(400, 1), "the refused request did not spend an op");
        assertFalse(limiter.consume(0, 1), "ops exhausted");
        assertEquals(500 * MS, limiter.nanosUntil(0, 1));
        clock.set(500 * MS);
        assertTrue(limiter.consume(0, 1));
        assertTrue(RateLimiter.UNLIMITED.consume(Long.MAX_VALUE, Long.MAX_VALUE));
    }

    @Test
    void badBucketsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(0, 0, MS, 0));
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, -1, MS, 0));
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, 0, 0, 0));
    }

    @Test
    void mulDivDoesNotOverflow() {
        assertEquals(Long.MAX_VALUE / 2, TokenBucket.mulDiv(Long.MAX_VALUE, 1L << 20, 1L << 21));
        assertEquals(6, TokenBucket.mulDiv(4, 3, 2));
    }
}
