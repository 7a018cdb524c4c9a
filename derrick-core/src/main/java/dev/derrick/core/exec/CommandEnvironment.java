package dev.derrick.core.exec;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds the environment a workspace command runs with: a small allow-list taken from the provider's own
 * environment ({@link #ALLOWED}), then the workspace config's {@code env}, then the request's {@code env}, each layer
 * overriding the one before. Nothing else of the provider's environment is passed on: it holds tokens.
 *
 * <p>The provider's environment is injected (a {@code Map}), never read from {@code System.getenv()} here.
 */
public final class CommandEnvironment {
    /** The provider variables a command may see. */
    public static final List<String> ALLOWED = List.of(
            "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR");

    /** {@code PATH} when the provider has none. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private final Map<String, String> base;

    /**
     * @param providerEnvironment the provider process's environment; only {@link #ALLOWED} names are kept
     */
    public CommandEnvironment(Map<String, String> providerEnvironment) {
        Objects.requireNonNull(providerEnvironment, "providerEnvironment");
        Map<String, String> kept = new LinkedHashMap<>();
        for (String name : ALLOWED) {
            String value = providerEnvironment.get(name);
            if (value != null) {
                kept.put(name, value);
            }
        }
        kept.putIfAbsent("PATH", DEFAULT_PATH);
        this.base = Collections.unmodifiableMap(kept);
    }

    /** The allow-listed part of the provider's environment (with a default {@code PATH}). */
    public Map<String, String> base() {
        return base;
    }

    /** The environment of a command: allow-list, then {@code configEnv}, then {@code requestEnv}. Nulls are empty. */
    public Map<String, String> build(Map<String, String> configEnv, Map<String, String> requestEnv) {
        Map<String, String> env = new LinkedHashMap<>(base);
        if (configEnv != null) {
            env.putAll(configEnv);
        }
        if (requestEnv != null) {
            env.putAll(requestEnv);
        }
        return env;
    }
}
