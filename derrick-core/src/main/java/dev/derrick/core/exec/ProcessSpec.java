package dev.derrick.core.exec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link ProcessRunner} runs: a shell command, in a directory, with exactly this environment (nothing is
 * inherited from the JVM), for at most {@code timeout}, keeping at most {@code maxOutputBytes} of each stream.
 *
 * @param command        shell command, run with {@code bash -c} (or {@code sh -c} where there is no bash)
 * @param workingDir     existing directory to run in
 * @param environment    the complete environment of the command (see {@link CommandEnvironment})
 * @param timeout        kill the whole process tree after this long; {@code null} means no limit
 * @param maxOutputBytes cap on captured bytes per stream
 */
public record ProcessSpec(String command, Path workingDir, Map<String, String> environment, Duration timeout,
                          long maxOutputBytes) {
    public ProcessSpec {
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(workingDir, "workingDir");
        environment = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(environment, "environment")));
        if (timeout != null && (timeout.isZero() || timeout.isNegative())) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        if (maxOutputBytes <= 0) {
            throw new IllegalArgumentException("maxOutputBytes must be positive, got " + maxOutputBytes);
        }
    }

    /** No timeout, {@link OutputCapture#DEFAULT_MAX_BYTES}. */
    public static ProcessSpec of(String command, Path workingDir, Map<String, String> environment) {
        return new ProcessSpec(command, workingDir, environment, null, OutputCapture.DEFAULT_MAX_BYTES);
    }

    public ProcessSpec withTimeout(Duration limit) {
        return new ProcessSpec(command, workingDir, environment, limit, maxOutputBytes);
    }

    public ProcessSpec withMaxOutputBytes(long max) {
        return new ProcessSpec(command, workingDir, environment, timeout, max);
    }
}
