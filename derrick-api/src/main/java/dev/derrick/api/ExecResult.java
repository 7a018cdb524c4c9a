package dev.derrick.api;

import java.time.Duration;

/**
 * What a command did. A non-zero exit code is data, not an exception.
 *
 * @param exitCode  the process's exit code; {@value #TIMED_OUT_EXIT_CODE} when {@code timedOut} (what the original
 *                  tool's {@code timeout} wrapper reported), in every provider
 * @param stdout    standard output, decoded as UTF-8
 * @param stderr    standard error, decoded as UTF-8
 * @param output    stdout and stderr interleaved in the order they were written
 * @param elapsed   wall-clock time from start to exit
 * @param timedOut  the command was killed because it ran past its timeout
 * @param truncated output went past the provider's cap and the rest was dropped
 */
public record ExecResult(int exitCode, String stdout, String stderr, String output,
                         Duration elapsed, boolean timedOut, boolean truncated) {
    /** The exit code of a command killed because it ran past its timeout, like coreutils' {@code timeout}. */
    public static final int TIMED_OUT_EXIT_CODE = 124;

    /** Replaces {@code null} outputs with empty strings and a {@code null} duration with zero. */
    public ExecResult {
        stdout = stdout == null ? "" : stdout;
        stderr = stderr == null ? "" : stderr;
        output = output == null ? "" : output;
        elapsed = elapsed == null ? Duration.ZERO : elapsed;
    }

    /** Exit code 0 and not timed out. */
    public boolean succeeded() {
        return exitCode == 0 && !timedOut;
    }

    /**
     * This result when the command {@linkplain #succeeded() succeeded}, for callers that want an exception otherwise:
     * {@code ws.exec("make").orThrow()}.
     *
     * @return this result
     * @throws CommandFailedException when the exit code is not 0 or the command timed out; it carries this result and
     *                                its message ends with the output's last lines
     */
    public ExecResult orThrow() {
        if (!succeeded()) {
            throw new CommandFailedException(this);
        }
        return this;
    }
}
