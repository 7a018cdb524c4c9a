package dev.derrick.api;

import java.util.List;
import java.util.Optional;

/**
 * A backend that creates workspaces: {@code local}, {@code docker}, {@code remote_nats}, or a third party's. Obtain
 * one with {@link WorkspaceProviders#open(String)}. {@link #close()} ends every workspace, process and container
 * this provider started. Implementations are thread-safe.
 */
public interface WorkspaceProvider extends AutoCloseable {
    /** The provider's name, e.g. {@code local}. */
    String name();

    /** Creates a workspace: clones the repositories, runs the setup script (or starts from a cached clean state). */
    default Workspace create(WorkspaceConfig config) {
        return create(config, ProgressListener.NONE);
    }

    /**
     * Creates a workspace, reporting progress of each phase.
     *
     * @throws SetupFailedException when cloning or the setup script fails; nothing is left behind
     * @throws InvalidConfigException when the config cannot be used (e.g. a token variable is not set)
     */
    Workspace create(WorkspaceConfig config, ProgressListener progress);

    /** The live workspaces this provider created, oldest first. */
    List<Workspace> list();

    /** The live workspace with this id, if any. */
    default Optional<Workspace> find(String id) {
        return list().stream().filter(w -> w.id().equals(id)).findFirst();
    }

    /**
     * The live workspace with this id.
     *
     * @throws WorkspaceNotFoundException when there is none
     */
    default Workspace get(String id) {
        return find(id).orElseThrow(() -> new WorkspaceNotFoundException(id));
    }

    /** Ends every workspace, process and container this provider started. Idempotent. */
    @Override
    void close();
}
