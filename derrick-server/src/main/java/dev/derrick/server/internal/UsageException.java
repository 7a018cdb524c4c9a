package dev.derrick.server.internal;

/** Bad input from the command line or the environment; the CLI prints the message as one line and exits 2. */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
