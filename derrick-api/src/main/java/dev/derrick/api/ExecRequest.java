package dev.derrick.api;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A command to run in a workspace, with {@code sh -c} semantics ({@code bash} where the workspace has it):
 * multi-line scripts, heredocs, pipes and {@code $VARS} work. Or, made with {@link #argv(String...)}, a program and
 * its arguments passed verbatim, without any shell parsing: no quoting to get right, no expansion of {@code $VARS},
 * globs or {@code ~}.
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
 * @param argv       the program and its arguments of an {@link #argv(String...)} request, empty for a shell command
 */
public record ExecRequest(String command, String workingDir, Map<String, String> env, Duration timeout,
                          List<String> argv) {
    /**
     * Validates: the command must not be blank and a timeout must be positive. With {@code argv}, {@code command}
     * is {@code null} or {@link #shellLine(List)} of it, and becomes that.
     */
    public ExecRequest {
        argv = argv == null ? List.of() : List.copyOf(argv);
        if (!argv.isEmpty()) {
            if (argv.get(0).isEmpty()) {
                throw new InvalidConfigException("argv: the program (argv[0]) is empty");
            }
            for (String arg : argv) {
                if (arg.indexOf('\0') >= 0) {
                    throw new InvalidConfigException("argv: an argument contains a NUL character, which no program can receive");
                }
            }
            String line = shellLine(argv);
            if (command != null && !command.equals(line)) {
                throw new InvalidConfigException("an argv request's command is its shell line, not '" + command + "'");
            }
            command = line;
        }
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

    /** A shell command (no argv). */
    public ExecRequest(String command, String workingDir, Map<String, String> env, Duration timeout) {
        this(command, workingDir, env, timeout, List.of());
    }

    /** A command with no extra env, run in the root with the provider's default timeout. */
    public static ExecRequest of(String command) {
        return new ExecRequest(command, null, null, null);
    }

    /**
     * A program and its arguments, each passed to it exactly as given, in the root with the provider's default
     * timeout. The program is looked up on the workspace's {@code PATH} unless it holds a {@code /}; exit code 127
     * says it was not found, as a shell would.
     *
     * <pre>{@code
     * ws.exec(ExecRequest.argv("git", "commit", "-m", "it's \"done\": $HOME stays as written"));
     * }</pre>
     *
     * <p>Every backend runs it with the program replacing a shell that does nothing but {@code exec} it (the shell is
     * what enters the working directory, environment and process group): {@link #command()} is that shell line,
     * {@code exec} and every argument in single quotes ({@link #shellLine(List)}), which a shell passes on verbatim.
     * That line is also what goes over the wire to a remote agent, whose protocol has no argv field.
     *
     * @throws InvalidConfigException when no program is given, it is empty, or an argument holds a NUL
     */
    public static ExecRequest argv(String... argv) {
        Objects.requireNonNull(argv, "argv");
        if (argv.length == 0) {
            throw new InvalidConfigException("argv: no program given");
        }
        return new ExecRequest(null, null, null, null, List.of(argv));
    }

    /** Whether this runs a program with {@link #argv()} rather than a shell command. */
    public boolean isArgv() {
        return !argv.isEmpty();
    }

    /**
     * The shell line that runs {@code argv} verbatim: {@code exec} followed by every argument in single quotes, a
     * {@code '} inside one written as {@code '\''}. POSIX shells take nothing in single quotes as special.
     */
    public static String shellLine(List<String> argv) {
        StringBuilder line = new StringBuilder("exec");
        for (String arg : argv) {
            line.append(' ').append(quote(arg));
        }
        return line.toString();
    }

    /** {@code arg} in single quotes for a POSIX shell. */
    public static String quote(String arg) {
        return "'" + arg.replace("'", "'\\''") + "'";
    }

    /**
     * @param dir directory relative to the workspace root; {@code null} for the root
     * @return a copy that runs in {@code dir}
     */
    public ExecRequest withWorkingDir(String dir) {
        return new ExecRequest(command, dir, env, timeout, argv);
    }

    /**
     * @param extra variables to add (they win over ones already set)
     * @return a copy with {@code extra} added to its environment
     */
    public ExecRequest withEnv(Map<String, String> extra) {
        Map<String, String> merged = new LinkedHashMap<>(env);
        merged.putAll(Objects.requireNonNull(extra, "extra"));
        return new ExecRequest(command, workingDir, merged, timeout, argv);
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
        return new ExecRequest(command, workingDir, env, limit, argv);
    }
}
