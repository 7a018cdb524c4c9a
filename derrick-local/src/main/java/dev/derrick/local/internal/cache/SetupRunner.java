package dev.derrick.local.internal.cache;

import dev.derrick.api.ExecResult;
import dev.derrick.api.ProgressListener;

import java.nio.file.Path;
import java.util.Map;

/**
 * Runs a setup or update script for the cache: the provider's own process machinery (environment allow-list,
 * output capture, timeouts) plugged into {@link LocalCache}.
 */
@FunctionalInterface
public interface SetupRunner {
    /**
     * Runs {@code script} with {@code directory} as working directory and workspace root.
     *
     * @param env the config's env (the runner adds its allow-listed basics)
     */
    ExecResult run(Path directory, String script, Map<String, String> env, ProgressListener progress);
}
