package dev.derrick.api;

/**
 * A provider exists but cannot work right now: no Docker engine at the address tried, no NATS server, no agent
 * with capacity. The message says what was tried.
 */
public class ProviderUnavailableException extends DerrickException {
    private static final long serialVersionUID = 1L;

    /** @param message what is missing and which address was tried */
    public ProviderUnavailableException(String message) {
        super(message);
    }

    /**
     * @param message what is missing and which address was tried
     * @param cause   the underlying failure
     */
    public ProviderUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
