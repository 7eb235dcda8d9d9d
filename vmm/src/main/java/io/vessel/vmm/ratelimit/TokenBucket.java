package io.vessel.vmm.ratelimit;

import java.math.BigInteger;

/**
 * A token bucket as Firecracker's rate limiter defines one: {@code size} tokens, refilled from
 * empty to full in {@code refillNanos}, plus a {@code oneTimeBurst} spent first and never
 * refilled. A single request larger than the bucket is let through when the bucket is full and
 * leaves a debt that refilling pays back, so the long-run rate still holds.
 *
 * <p>Time is passed in by the caller (nanoseconds from any fixed origin), which keeps the bucket
 * deterministic under test. Not thread-safe: {@link RateLimiter} serialises access.
 */
public final class TokenBucket {
    private final long size;
    private final long refillNanos;
    private long burst;
    private long budget;
    private long lastUpdate;

    public TokenBucket(long size, long oneTimeBurst, long refillNanos, long now) {
        if (size <= 0) {
            throw new IllegalArgumentException("token bucket size must be positive, not " + size);
        }
        if (oneTimeBurst < 0) {
            throw new IllegalArgumentException("token bucket one-time burst must not be negative, not " + oneTimeBurst);
        }
        if (refillNanos <= 0) {
            throw new IllegalArgumentException("token bucket refill time must be positive, not " + refillNanos + " ns");
        }
        this.size = size;
        this.refillNanos = refillNanos;
        this.burst = oneTimeBurst;
        this.budget = size;
        this.lastUpdate = now;
    }

    public long size() {
        return size;
    }

    /** Tokens available now (budget plus what is left of the burst); negative while in debt. */
    public long available(long now) {
        refill(now);
        return budget + burst;
    }

    /** Takes {@code tokens} if they are there (or the bucket is full); returns whether it did. */
    public boolean consume(long tokens, long now) {
        if (tokens <= 0) {
            return true;
        }
        refill(now);
        long fromBurst = Math.min(burst, tokens);
        long rest = tokens - fromBurst;
        if (rest <= budget || (rest > size && budget == size)) {
            burst -= fromBurst;
            budget -= rest;
            return true;
        }
        return false;
    }

    /** Gives back tokens taken by {@link #consume} for a request that did not go ahead after all. */
    public void refund(long tokens) {
        budget = Math.min(size, budget + tokens);
    }

    /** Nanoseconds from {@code now} until {@code tokens} can be consumed; 0 if they can now. */
    public long nanosUntil(long tokens, long now) {
        refill(now);
        long needFromBudget = Math.min(tokens - burst, size);
        long missing = needFromBudget - budget;
        if (missing <= 0) {
            return 0;
        }
        // ceil(missing * refill / size), then the nanoseconds already accrued towards the next token
        long nanos = mulDiv(missing, refillNanos, size);
        if (mulDiv(nanos, size, refillNanos) < missing) {
            nanos++;
        }
        return Math.max(1, nanos - (now - lastUpdate));
    }

    private void refill(long now) {
        long elapsed = now - lastUpdate;
        if (elapsed <= 0) {
            return;
        }
        long tokens = mulDiv(elapsed, size, refillNanos);
        if (tokens == 0) {
            return;
        }
        if (budget + tokens >= size) {
            budget = size;
            lastUpdate = now;
        } else {
            budget += tokens;
            lastUpdate += mulDiv(tokens, refillNanos, size);
        }
    }

    /** {@code a * b / c} without overflow, rounded down, saturating at Long.MAX_VALUE. */
    static long mulDiv(long a, long b, long c) {
        long high = Math.multiplyHigh(a, b);
        long low = a * b;
        if ((high == 0 && low >= 0) || (high == -1 && low < 0)) {
            return low / c;
        }
        BigInteger r = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).divide(BigInteger.valueOf(c));
        return r.bitLength() < 64 ? r.longValue() : Long.MAX_VALUE;
    }
}
