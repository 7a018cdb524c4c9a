package dev.derrick.api;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A command to run in a workspace, with {@code sh -c} semantics ({@code bash} where the workspace has it):
 * multi-line scripts, heredocs, pipes and {@code $VARS} work.
 *
 * <pre>{@code
 * ExecResult r = ws.exec(ExecRequest.of("mvn -q test")
 *         .withWorkingDir("code/repo")
 *         .withTimeout(Duration.ofMinutes(10)));
 * }</pre>
 *
 * @param command    the shell command
 * @param workingDir directory to run in, relative to the workspace root (or absolute inside the workspace);
 *                   {@code null} means the root
 * @param env        variables added on top of the workspace config's {@code env}
 * @param timeout    kill the whole process tree after this long; {@code null} means the provider's default
 */
public record ExecRequest(String command, String workingDir, Map<String, String> env, Duration timeout) {
    /** Validates: the command must not be blank and a timeout must be positive. */
    public ExecRequest {
        if (command == null || command.isBlank()) {
            throw new InvalidConfigException("'cmd' is missing or empty");
        }
        if (workingDir != null && workingDir.isBlank()) {
            workingDir = null;
        }
        env = env == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(env));
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new InvalidConfigException("timeout must be positive, got " + timeout);
        }
    }

    /** A command with no extra env, run in the root with the provider's default timeout. */
    public static ExecRequest of(String command) {
        return new ExecRequest(command, null, null, null);
    }

    /**
     * @param dir directory relative to the workspace root; {@code null} for the root
     * @return a copy that runs in {@code dir}
     */
    public ExecRequest withWorkingDir(String dir) {
        return new ExecRequest(command, dir, env, timeout);
    }

    /**
     * @param extra variables to add (they win over ones already set)
     * @return a copy with {@code extra} added to its environment
     */
    public ExecRequest withEnv(Map<String, String> extra) {
        Map<String, String> merged = new LinkedHashMap<>(env);
        merged.putAll(Objects.requireNonNull(extra, "extra"));
        return new ExecRequest(command, workingDir, merged, timeout);
    }

    /**
     * @param key   variable name
     * @param value its value
     * @return a copy with one more environment variable
     */
    public ExecRequest withEnv(String key, String value) {
        return withEnv(Map.of(key, value));
    }

    /**
     * @param limit how long the command may run before its process tree is killed; {@code null} for the provider's default
     * @return a copy with that timeout
     */
    public ExecRequest withTimeout(Duration limit) {
        return new ExecRequest(command, workingDir, env, limit);
    }
}
