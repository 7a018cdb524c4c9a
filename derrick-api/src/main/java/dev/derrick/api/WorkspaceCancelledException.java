package dev.derrick.api;

/**
 * The caller cancelled a create ({@link ProgressListener#isCancelled()} turned true): the provider stopped at the next
 * safe point and removed what it had made. Nothing is cached and nothing is left behind when this is thrown. Every
 * backend that provisions through the engine ({@code dev.derrick.api.spi.ProvisioningEngine}) throws this one type.
 */
public class WorkspaceCancelledException extends DerrickException {
    private static final long serialVersionUID = 1L;

    /** @param message what was cancelled, for a person */
    public WorkspaceCancelledException(String message) {
        super(message);
    }
}
