package io.vessel.vmm.ratelimit;

import java.util.function.LongSupplier;

/**
 * The bytes and operations budgets of one device (either may be absent: unlimited), the VM
 * counterpart of blkio throttling. A device asks {@link #consume} before serving a request; on
 * false it puts the request back and schedules a retry after {@link #nanosUntil} on a
 * {@link RefillTimer}, so a throttled queue waits on a timer, never in a busy loop.
 * Thread-safe.
 */
public final class RateLimiter {
    /** A limiter that lets everything through. */
    public static final RateLimiter UNLIMITED = new RateLimiter(null, null, System::nanoTime);

    private final TokenBucket bytes;
    private final TokenBucket ops;
    private final LongSupplier clock;

    /**
     * @param bytes the bytes bucket, or null for no byte limit
     * @param ops the operations bucket, or null for no operation limit
     * @param clock nanoseconds, the same origin the buckets were made with
     */
    public RateLimiter(TokenBucket bytes, TokenBucket ops, LongSupplier clock) {
        this.bytes = bytes;
        this.ops = ops;
        this.clock = clock;
    }

    /** Limits described as Firecracker's API does: sizes, one-time bursts, refill times in milliseconds; 0 size = none. */
    public static RateLimiter of(long bytesSize, long bytesBurst, long bytesRefillMillis, long opsSize, long opsBurst,
                                 long opsRefillMillis, LongSupplier clock) {
        long now = clock.getAsLong();
        TokenBucket b = bytesSize > 0 ? new TokenBucket(bytesSize, bytesBurst, bytesRefillMillis * 1_000_000L, now) : null;
        TokenBucket o = opsSize > 0 ? new TokenBucket(opsSize, opsBurst, opsRefillMillis * 1_000_000L, now) : null;
        return new RateLimiter(b, o, clock);
    }

    public boolean isUnlimited() {
        return bytes == null && ops == null;
    }

    /** Takes {@code byteCount} bytes and {@code opCount} operations from both buckets, or nothing. */
    public synchronized boolean consume(long byteCount, long opCount) {
        if (isUnlimited()) {
            return true;
        }
        long now = clock.getAsLong();
        if (ops != null && !ops.consume(opCount, now)) {
            return false;
        }
        if (bytes != null && !bytes.consume(byteCount, now)) {
            if (ops != null) {
                ops.refund(opCount);
            }
            return false;
        }
        return true;
    }

    /** Nanoseconds until {@code byteCount} bytes and {@code opCount} operations can both be consumed. */
    public synchronized long nanosUntil(long byteCount, long opCount) {
        long now = clock.getAsLong();
        long wait = 0;
        if (ops != null) {
            wait = Math.max(wait, ops.nanosUntil(opCount, now));
        }
        if (bytes != null) {
            wait = Math.max(wait, bytes.nanosUntil(byteCount, now));
        }
        return wait;
    }
}
