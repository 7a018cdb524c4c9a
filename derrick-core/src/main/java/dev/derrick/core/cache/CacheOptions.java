package dev.derrick.core.cache;

import dev.derrick.api.spi.ProviderOptions;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The provider options every caching backend takes (same names for {@code local} and {@code docker}):
 * <ul>
 *   <li>{@code cache} — {@code true} (default) or {@code false} to provision from scratch every time</li>
 *   <li>{@code cache_dir} — where entries and mirrors live; default {@code $DERRICK_CACHE_DIR}, else
 *   {@code $XDG_CACHE_HOME/derrick}, else {@code ~/.cache/derrick}</li>
 *   <li>{@code cache_max_bytes} — LRU bound on the total size (e.g. {@code 20g}); default {@code 10g};
 *   {@code none} for no bound</li>
 *   <li>{@code cache_max_age} — entries unused for longer go (e.g. {@code 14d}, seconds or ISO-8601 {@code P14D});
 *   default {@code 30d}; {@code none} for no bound</li>
 *   <li>{@code require_fresh} — {@code true} to fail a create from the cache that cannot bring every repository up
 *   to date with its remote (diverged, a local change in the entry, an untracked file where an incoming one goes,
 *   the remote unreachable) instead of handing the workspace out stale with a WARN; default {@code false}</li>
 * </ul>
 *
 * @param enabled  whether to cache
 * @param dir      the cache directory
 * @param eviction the bounds the provider applies after each new entry
 * @param requireFresh whether a create that cannot bring a repository up to date fails
 */
public record CacheOptions(boolean enabled, Path dir, EvictionPolicy eviction, boolean requireFresh) {
    /** The option keys. */
    public static final Set<String> KEYS = Set.of("cache", "cache_dir", "cache_max_bytes", "cache_max_age",
            "require_fresh");
    /** The size bound when {@code cache_max_bytes} is not given: 10 GiB. */
    public static final long DEFAULT_MAX_BYTES = 10L << 30;
    /** The age bound when {@code cache_max_age} is not given: 30 days unused. */
    public static final Duration DEFAULT_MAX_AGE = Duration.ofDays(30);

    /** Reads the cache options out of a provider's options (which must allow {@link #KEYS}). */
    public static CacheOptions parse(ProviderOptions options, Map<String, String> providerEnv) {
        boolean enabled = options.bool("cache", true);
        Path dir = options.path("cache_dir", defaultDir(providerEnv));
        long maxBytes = options.string("cache_max_bytes").map(s -> isNone(s) ? 0L : parseSize(s, "cache_max_bytes"))
                .orElse(DEFAULT_MAX_BYTES);
        Object age = options.raw("cache_max_age").orElse(null);
        Duration maxAge = age == null ? DEFAULT_MAX_AGE
                : age instanceof String text ? (isNone(text) ? null : parseDuration(text, "cache_max_age"))
                : options.duration("cache_max_age", null);
        return new CacheOptions(enabled, dir, new EvictionPolicy(maxAge, maxBytes), options.bool("require_fresh", false));
    }

    /** Options with the cache on and a stale create handed out with a WARN. */
    public CacheOptions(boolean enabled, Path dir, EvictionPolicy eviction) {
        this(enabled, dir, eviction, false);
    }

    /** {@code $DERRICK_CACHE_DIR}, else {@code $XDG_CACHE_HOME/derrick}, else {@code ~/.cache/derrick}. */
    public static Path defaultDir(Map<String, String> env) {
        String explicit = env.get("DERRICK_CACHE_DIR");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "derrick");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "derrick");
    }

    /** The bounds a provider applies when no option is given: {@link #DEFAULT_MAX_BYTES}, {@link #DEFAULT_MAX_AGE}. */
    public static EvictionPolicy defaultEviction() {
        return new EvictionPolicy(DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES);
    }

    private static boolean isNone(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        return t.equals("none") || t.equals("off") || t.equals("unbounded");
    }

    /** "512m", "20g", "1048576" → bytes. */
    public static long parseSize(String text, String what) {
        String t = text.trim().toLowerCase(Locale.ROOT).replaceFirst("i?b$", "");
        long factor = 1;
        if (!t.isEmpty() && "kmgt".indexOf(t.charAt(t.length() - 1)) >= 0) {
            factor = 1L << (10 * ("kmgt".indexOf(t.charAt(t.length() - 1)) + 1));
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (v < 0 || Double.isNaN(v)) {
                throw new NumberFormatException();
            }
            return (long) (v * factor);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + what + "' must be a size like 512m or 20g, got '" + text + "'");
        }
    }

    /** "30s", "15m", "12h", "14d", a number of seconds, or ISO-8601 ({@code P14D}). */
    public static Duration parseDuration(String text, String what) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.startsWith("p")) {
                return Duration.parse(t.toUpperCase(Locale.ROOT));
            }
            char unit = t.isEmpty() ? 's' : t.charAt(t.length() - 1);
            String number = Character.isDigit(unit) ? t : t.substring(0, t.length() - 1);
            double v = Double.parseDouble(number);
            if (v < 0) {
                throw new NumberFormatException();
            }
            double seconds = switch (Character.isDigit(unit) ? 's' : unit) {
                case 's' -> v;
                case 'm' -> v * 60;
                case 'h' -> v * 3600;
                case 'd' -> v * 86400;
                case 'w' -> v * 7 * 86400;
                default -> throw new NumberFormatException();
            };
            return Duration.ofMillis((long) (seconds * 1000));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'" + what + "' must be a duration like 30s, 12h or 14d, got '" + text + "'");
        }
    }
}
