package dev.derrick.api;

/**
 * A file or directory asked for ({@link Workspace#readFile}, {@link Workspace#listFiles}) is not in the workspace.
 * The workspace itself is there: that case is {@link WorkspaceNotFoundException}. Over HTTP and NATS this is a 404
 * with error code {@code file_not_found}.
 */
public class WorkspaceFileNotFoundException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final String path;

    /**
     * @param path    the path that was asked for, as given (may be {@code null} when only the message is known, e.g.
     *                on a client that received the error over the wire)
     * @param message what is missing, naming the path and the workspace
     */
    public WorkspaceFileNotFoundException(String path, String message) {
        super(message);
        this.path = path;
    }

    /** @return the path that was asked for, or {@code null} when not known */
    public String path() {
        return path;
    }
}
