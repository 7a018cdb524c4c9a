package dev.derrick.api;

/**
 * A background process cannot take standard input now: it has ended, its stdin was closed, or it is not reading what
 * was already sent (the provider's bound on waiting input). The caller's request was fine; the process's state says
 * no. HTTP 409 {@code stdin_unavailable}.
 */
public class ProcessStdinException extends DerrickException {
    private static final long serialVersionUID = 1L;

    /** @param message which process and why */
    public ProcessStdinException(String message) {
        super(message);
    }
}
