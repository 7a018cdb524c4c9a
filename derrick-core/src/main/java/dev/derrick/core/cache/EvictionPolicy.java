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

    /** For people: {@code at most 10.0 GiB, entries unused for 30d removed}, or {@code unbounded}. */
    public String describe() {
        if (!bounded()) {
            return "unbounded";
        }
        StringBuilder sb = new StringBuilder();
        if (maxBytes > 0) {
            sb.append("at most ").append(humanBytes(maxBytes));
        }
        if (maxAge != null) {
            sb.append(sb.length() > 0 ? ", " : "").append("entries unused for ").append(humanDuration(maxAge)).append(" removed");
        }
        return sb.toString();
    }

    /** {@code 1.5 GiB}, {@code 12 B}: a byte count for people (log lines, {@code derrick cache list}). */
    public static String humanBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String units = "KMGT";
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < units.length() - 1) {
            v /= 1024;
            i++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %siB", v, units.charAt(i));
    }

    static String humanDuration(Duration d) {
        long s = d.toSeconds();
        if (s % 86400 == 0 && s > 0) {
            return s / 86400 + "d";
        }
        if (s % 3600 == 0 && s > 0) {
            return s / 3600 + "h";
        }
        if (s % 60 == 0 && s > 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }
}
