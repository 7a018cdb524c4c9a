package dev.derrick.api;

import java.time.Duration;

/**
 * What a command did. A non-zero exit code is data, not an exception.
 *
 * @param exitCode  the process's exit code; when {@code timedOut}, whatever the killed process reported (often
 *                  137 or 143) or -1
 * @param stdout    standard output, decoded as UTF-8
 * @param stderr    standard error, decoded as UTF-8
 * @param output    stdout and stderr interleaved in the order they were written
 * @param elapsed   wall-clock time from start to exit
 * @param timedOut  the command was killed because it ran past its timeout
 * @param truncated output went past the provider's cap and the rest was dropped
 */
public record ExecResult(int exitCode, String stdout, String stderr, String output,
                         Duration elapsed, boolean timedOut, boolean truncated) {
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
