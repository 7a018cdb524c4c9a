package dev.derrick.api.spi;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Typed, validated access to a provider's option map, for factory authors. Values may be given as their type or as
 * strings (as they come from a command line or environment).
 */
public final class ProviderOptions {
    private final String provider;
    private final Map<String, ?> values;

    private ProviderOptions(String provider, Map<String, ?> values) {
        this.provider = provider;
        this.values = values;
    }

    /**
     * Wraps {@code options}, rejecting any key not in {@code allowed}.
     *
     * @throws IllegalArgumentException naming the unknown keys and the supported ones
     */
    public static ProviderOptions of(String provider, Map<String, ?> options, Set<String> allowed) {
        Map<String, ?> values = options == null ? Map.of() : options;
        Set<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(allowed);
        if (!unknown.isEmpty()) {
            StringBuilder named = new StringBuilder();
            for (String key : unknown) {
                named.append(named.length() == 0 ? "" : ", ").append('\'').append(key).append('\'')
                        .append(DidYouMean.hint(key, allowed));
            }
            throw new IllegalArgumentException("unknown option(s) for provider '" + provider + "': " + named
                    + "; supported: " + new TreeSet<>(allowed));
        }
        return new ProviderOptions(provider, values);
    }

    /**
     * @param key option name
     * @return the value as given, if any
     */
    public Optional<Object> raw(String key) {
        return Optional.ofNullable(values.get(key));
    }

    /**
     * @param key option name
     * @return the value as a string, if given and not blank
     */
    public Optional<String> string(String key) {
        return raw(key).map(Object::toString).filter(s -> !s.isBlank());
    }

    /**
     * @param key      option name
     * @param fallback used when the option is absent or blank
     * @return the value as a string
     */
    public String string(String key, String fallback) {
        return string(key).orElse(fallback);
    }

    /**
     * @param key      option name
     * @param fallback used when the option is absent
     * @return the value as a path
     */
    public Path path(String key, Path fallback) {
        return raw(key).map(v -> v instanceof Path p ? p : Path.of(v.toString())).orElse(fallback);
    }

    /**
     * @param key      option name
     * @param fallback used when the option is absent
     * @return the value as a whole number
     * @throws IllegalArgumentException when it is not one
     */
    public long longValue(String key, long fallback) {
        return raw(key).map(v -> {
            if (v instanceof Number n) {
                return n.longValue();
            }
            try {
                return Long.parseLong(v.toString().trim());
            } catch (NumberFormatException e) {
                throw bad(key, v, "a whole number");
            }
        }).orElse(fallback);
    }

    /**
     * @param key      option name
     * @param fallback used when the option is absent
     * @return the value as a boolean ({@code true} or {@code false}, any case)
     * @throws IllegalArgumentException for any other value
     */
    public boolean bool(String key, boolean fallback) {
        return raw(key).map(v -> {
            if (v instanceof Boolean b) {
                return b;
            }
            String s = v.toString().trim().toLowerCase(java.util.Locale.ROOT);
            if (s.equals("true") || s.equals("false")) {
                return Boolean.parseBoolean(s);
            }
            throw bad(key, v, "true or false");
        }).orElse(fallback);
    }

    /** A duration as a {@link Duration}, an ISO-8601 string ({@code PT30S}) or a number of seconds. */
    public Duration duration(String key, Duration fallback) {
        return raw(key).map(v -> {
            if (v instanceof Duration d) {
                return d;
            }
            if (v instanceof Number n) {
                return Duration.ofMillis((long) (n.doubleValue() * 1000));
            }
            String s = v.toString().trim();
            try {
                return s.toUpperCase(java.util.Locale.ROOT).startsWith("P") ? Duration.parse(s)
                        : Duration.ofMillis((long) (Double.parseDouble(s) * 1000));
            } catch (RuntimeException e) {
                throw bad(key, v, "a duration (seconds, or ISO-8601 like PT30S)");
            }
        }).orElse(fallback);
    }

    /**
     * @param key option name
     * @return the value as a map of strings; empty when absent
     * @throws IllegalArgumentException when it is not a map
     */
    @SuppressWarnings("unchecked")
    public Map<String, String> stringMap(String key) {
        return raw(key).map(v -> {
            if (v instanceof Map<?, ?> m) {
                Map<String, String> out = new java.util.LinkedHashMap<>();
                m.forEach((k, val) -> out.put(String.valueOf(k), String.valueOf(val)));
                return out;
            }
            throw bad(key, v, "a map of strings");
        }).orElse(Map.of());
    }

    private IllegalArgumentException bad(String key, Object value, String expected) {
        return new IllegalArgumentException("option '" + key + "' of provider '" + provider + "' must be " + expected
                + ", got '" + value + "'");
    }
}
