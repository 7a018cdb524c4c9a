package dev.derrick.api;

/** The provider does not implement this operation (yet). HTTP 501. */
public class OperationNotSupportedException extends DerrickException {
    private static final long serialVersionUID = 1L;

    /** @param message which operation, and which provider does not support it */
    public OperationNotSupportedException(String message) {
        super(message);
    }
}
