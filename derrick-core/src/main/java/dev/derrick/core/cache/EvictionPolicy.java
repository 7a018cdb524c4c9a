package dev.derrick.core.cache;

import java.time.Duration;

/**
 * Bounds on a cache: entries unused for longer than {@code maxAge} go, then least recently used entries go until the
 * total is at most {@code maxBytes}. Entries in use are never evicted. {@code null} age or a size {@code <= 0} means
 * no bound of that kind.
 *
 * @param maxAge   longest time since last use, or {@code null}
 * @param maxBytes largest total size, or {@code 0} for none
 */
public record EvictionPolicy(Duration maxAge, long maxBytes) {
    /** No bounds. */
    public static final EvictionPolicy NONE = new EvictionPolicy(null, 0);

    public EvictionPolicy {
        if (maxAge != null && maxAge.isNegative()) {
            throw new IllegalArgumentException("cache max age must not be negative: " + maxAge);
        }
    }

    public boolean bounded() {
        return maxAge != null || maxBytes > 0;
    }
}
