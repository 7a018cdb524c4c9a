package dev.derrick.remote;

import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.remote.internal.RemoteWorkspace;

import java.util.Optional;

/** What a {@code remote_http} or {@code remote_nats} workspace knows beyond the {@link Workspace} API. */
public final class RemoteWorkspaces {
    private RemoteWorkspaces() {
    }

    /** Whether {@code ws} is a workspace of {@code remote_http} or {@code remote_nats}. */
    public static boolean isRemote(Workspace ws) {
        return ws instanceof RemoteWorkspace;
    }

    /**
     * The id of the agent that owns the workspace ({@code remote_nats}); empty for {@code remote_http} (one agent,
     * known by its URL) and for workspaces that are not remote.
     */
    public static Optional<String> agent(Workspace ws) {
        return ws instanceof RemoteWorkspace r ? Optional.ofNullable(r.ref().agent()) : Optional.empty();
    }

    /**
     * The agent's own view of the workspace: {@code provider()} is the agent's backend ({@code local},
     * {@code docker}) where {@code ws.info().provider()} names the client provider.
     *
     * @throws IllegalArgumentException when {@code ws} is not a remote workspace
     */
    public static WorkspaceInfo agentInfo(Workspace ws) {
        if (ws instanceof RemoteWorkspace r) {
            return r.agentInfo();
        }
        throw new IllegalArgumentException("workspace " + ws.id() + " is not a remote workspace");
    }
}
