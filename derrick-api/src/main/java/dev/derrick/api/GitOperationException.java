package dev.derrick.api;

/**
 * A git operation (clone, fetch) failed. {@link #authenticationFailed()} tells a rejected or missing token apart
 * from other failures. The message shows the repository URL without credentials.
 */
public class GitOperationException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final boolean authenticationFailed;

    public GitOperationException(String message, boolean authenticationFailed, Throwable cause) {
        super(message, cause);
        this.authenticationFailed = authenticationFailed;
    }

    public boolean authenticationFailed() {
        return authenticationFailed;
    }
}
