package dev.derrick.core.provision;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceCancelledException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.core.Redactor;

import java.time.Duration;
import java.util.Arrays;

/**
 * The exceptions a create throws, written in one place: a failed setup or update script, a cancelled create, and
 * any other failure translated and scrubbed of tokens.
 */
public final class Failures {
    /** How many of a failed script's last output lines the message quotes. */
    static final int TAIL_LINES = 20;
    /** How many characters of those at most. */
    static final int TAIL_CHARS = 2000;

    private final Redactor redactor;

    public Failures(Redactor redactor) {
        this.redactor = redactor;
    }

    /**
     * A script that did not succeed: {@code <what> of workspace config '<name>' exited with code N; last output:
     * <tail>} (or {@code timed out after S s}), with the output scrubbed of tokens.
     *
     * @param what    {@code setup script}, {@code update script}
     * @param timeout the script's timeout, for the message ({@code null}: not said)
     */
    public SetupFailedException script(String what, WorkspaceConfig config, ExecResult result, Duration timeout) {
        String output = redactor.redact(result.output());
        String why = result.timedOut()
                ? "timed out" + (timeout == null ? "" : " after " + timeout.toSeconds() + " s")
                : "exited with code " + result.exitCode();
        return new SetupFailedException(what + " of workspace config '" + config.name() + "' " + why + tail(output),
                result.exitCode(), output);
    }

    /** Throws {@link WorkspaceCancelledException} when {@code progress} is cancelled. */
    public void checkCancelled(ProgressListener progress, WorkspaceConfig config) {
        if (progress.isCancelled()) {
            throw new WorkspaceCancelledException("creating a workspace for '" + config.name() + "' was cancelled");
        }
    }

    /**
     * What a create throws for a failure: a {@link DerrickException} as it is (its message is already the right
     * one), else the backend's translation, else "creating a workspace for '{name}' failed: {reason}" — scrubbed.
     */
    public RuntimeException translate(RuntimeException e, WorkspaceConfig config, ProvisioningBackend<?, ?, ?> backend) {
        if (e instanceof DerrickException) {
            return e;
        }
        RuntimeException translated = backend.translate(e, config);
        if (translated != null) {
            return translated;
        }
        return new DerrickException("creating a workspace for '" + config.name() + "' failed: "
                + redactor.redact(reason(e)), e);
    }

    /** Scrubs tokens out of a text (a log line). */
    public String redact(String text) {
        return redactor.redact(text);
    }

    /** The first line of a failure's message, looking through wrappers (a future's) and message-less exceptions. */
    static String reason(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && (t.getMessage() == null
                || t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return m.lines().findFirst().orElse(m);
    }

    /** "; last output:\n…" with at most {@link #TAIL_LINES} lines and {@link #TAIL_CHARS} characters, or " (no output)". */
    static String tail(String output) {
        String s = output.strip();
        if (s.isEmpty()) {
            return " (no output)";
        }
        String[] lines = s.split("\n");
        String last = String.join("\n", Arrays.asList(lines).subList(Math.max(0, lines.length - TAIL_LINES), lines.length));
        if (last.length() > TAIL_CHARS) {
            last = "…" + last.substring(last.length() - TAIL_CHARS);
        }
        return "; last output:\n" + last;
    }
}
