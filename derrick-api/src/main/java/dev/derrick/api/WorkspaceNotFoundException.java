package dev.derrick.api;

/** No live workspace has the given id (it never existed, was closed, or its agent is gone). */
public class WorkspaceNotFoundException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final String workspaceId;

    /** @param workspaceId the id that was asked for */
    public WorkspaceNotFoundException(String workspaceId) {
        this(workspaceId, "no workspace with id '" + workspaceId + "'");
    }

    /**
     * @param workspaceId the id that was asked for
     * @param message     why it is not there (closed, agent gone…)
     */
    public WorkspaceNotFoundException(String workspaceId, String message) {
        super(message);
        this.workspaceId = workspaceId;
    }

    /** @return the id that was asked for */
    public String workspaceId() {
        return workspaceId;
    }
}
