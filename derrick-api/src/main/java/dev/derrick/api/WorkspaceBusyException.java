package dev.derrick.api;

/** The operation conflicts with the workspace's current state (being reset, closed, restored…). HTTP 409. */
public class WorkspaceBusyException extends DerrickException {
    private static final long serialVersionUID = 1L;

    /** @param message what the workspace is busy with */
    public WorkspaceBusyException(String message) {
        super(message);
    }
}
