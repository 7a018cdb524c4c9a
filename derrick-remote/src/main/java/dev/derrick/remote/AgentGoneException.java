package dev.derrick.remote;

import dev.derrick.api.WorkspaceNotFoundException;

/**
 * Thrown by {@code remote_nats} workspaces, a {@link WorkspaceNotFoundException}: the agent that owns the workspace
 * stopped heartbeating or stopped answering, and its workspaces are gone with it.
 */
public final class AgentGoneException extends WorkspaceNotFoundException {
    private static final long serialVersionUID = 1L;
    private final String agent;

    public AgentGoneException(String workspaceId, String agent, String message) {
        super(workspaceId, message);
        this.agent = agent;
    }

    /** The id of the agent that is gone. */
    public String agent() {
        return agent;
    }
}
