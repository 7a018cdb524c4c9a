package dev.derrick.api;

/**
 * A command exited with a non-zero code or ran past its timeout, for callers that asked for an exception
 * ({@link ExecResult#orThrow()}). Carries the whole result. Over HTTP and NATS this is {@code command_failed} (422).
 */
public class CommandFailedException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private static final int TAIL_CHARS = 2000;
    private final transient ExecResult result;

    /** @param result what the command did */
    public CommandFailedException(ExecResult result) {
        this(describe(result), result);
    }

    /**
     * @param message what failed, for a person
     * @param result  what the command did
     */
    public CommandFailedException(String message, ExecResult result) {
        super(message);
        this.result = result;
    }

    /** The command's result: exit code, output, whether it timed out. */
    public ExecResult result() {
        return result;
    }

    /** The exit code (with {@link ExecResult#timedOut()}, whatever the killed process reported). */
    public int exitCode() {
        return result.exitCode();
    }

    private static String describe(ExecResult r) {
        String what = r.timedOut() ? "command timed out after " + r.elapsed().toMillis() + " ms"
                : "command exited with code " + r.exitCode();
        String out = r.output().strip();
        if (out.isEmpty()) {
            return what + " (no output)";
        }
        if (out.length() > TAIL_CHARS) {
            out = "…" + out.substring(out.length() - TAIL_CHARS);
        }
        return what + "; output:\n" + out;
    }
}
