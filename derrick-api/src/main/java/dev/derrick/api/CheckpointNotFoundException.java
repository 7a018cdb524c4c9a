package dev.derrick.api;

/**
 * {@link Workspace#restore(String)} was given an id that no {@link Workspace#checkpoint()} of this workspace
 * returned (checkpoints die with their workspace). Over HTTP and NATS this is a 404 with error code
 * {@code checkpoint_not_found}.
 */
public class CheckpointNotFoundException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final String checkpointId;

    /**
     * @param checkpointId the id that was asked for (may be {@code null} when only the message is known, e.g. on a
     *                     client that received the error over the wire)
     * @param message      what is missing, naming the id and the workspace
     */
    public CheckpointNotFoundException(String checkpointId, String message) {
        super(message);
        this.checkpointId = checkpointId;
    }

    /** @return the checkpoint id that was asked for, or {@code null} when not known */
    public String checkpointId() {
        return checkpointId;
    }
}
