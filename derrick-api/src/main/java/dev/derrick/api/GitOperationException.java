package dev.derrick.api;

/**
 * A git operation (clone, fetch) failed. {@link #authenticationFailed()} tells a rejected or missing token apart
 * from other failures. The message shows the repository URL without credentials.
 */
public class GitOperationException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final boolean authenticationFailed;

    /**
     * @param message              what failed, with the URL but no credentials
     * @param authenticationFailed whether the server rejected (or demanded) credentials
     * @param cause                the underlying failure, or {@code null}
     */
    public GitOperationException(String message, boolean authenticationFailed, Throwable cause) {
        super(message, cause);
        this.authenticationFailed = authenticationFailed;
    }

    /** @return whether the server rejected the token or asked for one that was not given */
    public boolean authenticationFailed() {
        return authenticationFailed;
    }
}
