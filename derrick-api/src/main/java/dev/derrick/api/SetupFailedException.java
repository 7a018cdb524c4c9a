package dev.derrick.api;

/**
 * Setting up a workspace failed: a repository could not be cloned or the setup script exited non-zero. Carries the
 * script's exit code and output (scrubbed of secrets) so the caller can show what went wrong. Nothing is cached and
 * nothing is left behind when this is thrown.
 */
public class SetupFailedException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;
    private final String output;

    /**
     * The setup script failed.
     *
     * @param message  what failed
     * @param exitCode the script's exit code
     * @param output   its interleaved output, scrubbed of secrets
     */
    public SetupFailedException(String message, int exitCode, String output) {
        super(message);
        this.exitCode = exitCode;
        this.output = output == null ? "" : output;
    }

    /**
     * Something other than the script failed (a clone, say).
     *
     * @param message what failed
     * @param cause   the underlying failure
     */
    public SetupFailedException(String message, Throwable cause) {
        super(message, cause);
        this.exitCode = -1;
        this.output = "";
    }

    /** The setup script's exit code, or -1 when the failure was not the script's (e.g. a clone). */
    public int exitCode() {
        return exitCode;
    }

    /** The setup script's interleaved stdout and stderr, possibly truncated; empty when there was none. */
    public String output() {
        return output;
    }
}
