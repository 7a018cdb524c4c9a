package dev.derrick.api;

/** The provider does not implement this operation (yet). HTTP 501. */
public class OperationNotSupportedException extends DerrickException {
    private static final long serialVersionUID = 1L;

    public OperationNotSupportedException(String message) {
        super(message);
    }
}
