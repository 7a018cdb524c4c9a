package dev.derrick.api;

/**
 * Root of every exception derrick throws. Unchecked, like docker-java's {@code DockerException}: callers catch the
 * few subtypes they can act on and let the rest travel.
 *
 * <p>Messages are written for a person and never contain a secret: git tokens and API tokens are scrubbed before
 * they reach an exception.
 */
public class DerrickException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what went wrong, for a person, without secrets */
    public DerrickException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong, for a person, without secrets
     * @param cause   the underlying failure
     */
    public DerrickException(String message, Throwable cause) {
        super(message, cause);
    }
}
