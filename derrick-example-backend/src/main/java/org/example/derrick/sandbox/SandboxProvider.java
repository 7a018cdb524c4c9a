package org.example.derrick.sandbox;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.BaseRequest;
import dev.derrick.api.spi.CachedSnapshot;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.api.spi.ProvisioningEngine;
import dev.derrick.api.spi.Snapshot;
import dev.derrick.api.spi.WorkspaceIds;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Workspaces as directories under one root. Thread-safe.
 *
 * <p>The provider is two things. As a {@link WorkspaceProvider} it hands out workspaces, and its {@link #create} is
 * one line: {@code engine.create(...)}. As a {@link ProvisioningBackend} it does what only it knows how to do with its
 * payload — make a directory, run a script in it, copy it — and derrick's {@link ProvisioningEngine} (found at run
 * time through derrick-api, see {@link #open}) does the rest: the cache, cloning with the tokens, the setup script,
 * the create-time fetch, the update script, single flight, cancellation and the exceptions.
 *
 * <p>On disk: {@code <root>/<id>/root} is a workspace (or, while it is built, a base), {@code <root>/<id>/clean}
 * its clean state when it has its own (else the cache entry's {@code tree} is), {@code <root>/<id>/checkpoints/}
 * its checkpoints.
 *
 * @see ProvisioningBackend for the order in which the engine calls the methods below
 */
final class SandboxProvider implements WorkspaceProvider,
        ProvisioningBackend<WorkspaceConfig, Path, SandboxWorkspace> {
    /** The directory a cache entry's files are in, under the entry directory. */
    static final String TREE = "tree";

    private final Path root;
    private final Duration defaultTimeout;
    private final Map<String, String> environment;
    private final List<SandboxWorkspace> live = new CopyOnWriteArrayList<>();
    private final ProvisioningEngine<WorkspaceConfig, SandboxWorkspace> engine;
    private volatile boolean closed;

    /**
     * @param options the provider options; the engine reads its own ({@link ProvisioningEngine#OPTIONS}) from them
     */
    SandboxProvider(Path root, Duration defaultTimeout, Map<String, String> environment, Map<String, ?> options) {
        this.root = root;
        this.defaultTimeout = defaultTimeout;
        this.environment = Map.copyOf(environment);
        // derrick-core's engine, found through ServiceLoader: this jar compiles against derrick-api alone.
        this.engine = ProvisioningEngine.open(this, options, this.environment);
    }

    @Override
    public String name() {
        return SandboxProviderFactory.NAME;
    }

    // ---- WorkspaceProvider -----------------------------------------------------------------------------------

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        if (closed) {
            throw new ProviderUnavailableException("the sandbox provider was closed");
        }
        SandboxWorkspace workspace = engine.create(config, config, progress);
        live.add(workspace);
        if (closed) {
            workspace.close();
            throw new DerrickException("the sandbox provider was closed while workspace " + workspace.id() + " was created");
        }
        return workspace;
    }

    void forget(SandboxWorkspace workspace) {
        live.remove(workspace);
    }

    @Override
    public List<Workspace> list() {
        return List.copyOf(live);
    }

    @Override
    public void close() {
        closed = true;
        engine.close();
        for (SandboxWorkspace workspace : live) {
            workspace.close();
        }
    }

    // ---- ProvisioningBackend: building a clean state ---------------------------------------------------------

    /** A base is the {@code root} directory of a workspace in the making; the engine clones straight into it. */
    @Override
    public Path makeBase(WorkspaceConfig config, BaseRequest request, ProgressListener progress) {
        Path home = root.resolve(request.workspaceId());
        try {
            return Files.createDirectories(home.resolve("root"));
        } catch (IOException e) {
            throw new ProviderUnavailableException("cannot create a workspace directory under " + root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Path> hostDirectory(Path base) {
        return Optional.of(base);
    }

    /** The setup script, as a workspace command would run it (the context is the same config). */
    @Override
    public ExecResult runStep(WorkspaceConfig context, Path base, String script, WorkspaceConfig config) {
        return CommandRunner.run(List.of("sh", "-c", script), base, SandboxWorkspace.env(environment, base, config.env()),
                defaultTimeout, OutputListener.NONE, p -> { });
    }

    @Override
    public Duration stepTimeout() {
        return defaultTimeout;
    }

    /** The payload is a copy of the base in the entry directory; the base stays and may become the workspace. */
    @Override
    public Snapshot snapshot(Path base, BaseRequest request) {
        Path tree = request.entryDirectory().resolve(TREE);
        Trees.copy(base, tree);
        return new Snapshot(TREE, Trees.size(tree), Map.of());
    }

    @Override
    public void discardBase(Path base) {
        Trees.deleteQuietly(base.getParent());
    }

    // ---- ProvisioningBackend: workspaces ---------------------------------------------------------------------

    /** The base becomes the workspace: no copy. With the cache off ({@code snapshot == null}) it keeps its own clean copy. */
    @Override
    public Optional<SandboxWorkspace> adopt(WorkspaceConfig config, Path base, CachedSnapshot snapshot,
                                            List<RepositoryState> states, ProgressListener progress) {
        Path home = base.getParent();
        SandboxWorkspace workspace = new SandboxWorkspace(this, home.getFileName().toString(), home, config,
                defaultTimeout, environment, snapshot, states);
        if (snapshot == null) {
            workspace.markClean();
        }
        return Optional.of(workspace);
    }

    /** A new workspace directory, copied from the entry's tree; the tree stays its clean state until it changes. */
    @Override
    public SandboxWorkspace instantiate(WorkspaceConfig config, CachedSnapshot snapshot, boolean builtNow,
                                        ProgressListener progress) {
        String id = WorkspaceIds.newId(SandboxProviderFactory.NAME);
        Path home = root.resolve(id);
        try {
            Trees.copy(snapshot.directory().resolve(snapshot.payload()), home.resolve("root"));
        } catch (RuntimeException e) {
            Trees.deleteQuietly(home); // the engine releases the lease; the half-made copy is ours to remove
            throw e;
        }
        return new SandboxWorkspace(this, id, home, config, defaultTimeout, environment, snapshot,
                snapshot.repositories());
    }

    @Override
    public Optional<RepositoryFetch> fetch(SandboxWorkspace workspace, RepositoryConfig repository,
                                           ProgressListener progress) {
        return Optional.of(workspace.fetchOne(repository, null));
    }

    @Override
    public Path gitDirectory(SandboxWorkspace workspace, RepositoryConfig repository) {
        return workspace.repositoryDirectory(repository);
    }

    @Override
    public void fetched(SandboxWorkspace workspace, List<RepositoryFetch> fetches, Set<String> unreachable) {
        workspace.recordFetches(fetches, unreachable);
    }

    @Override
    public List<RepositoryState> repositories(SandboxWorkspace workspace) {
        return workspace.info().repositories();
    }

    @Override
    public ExecResult runUpdate(WorkspaceConfig config, SandboxWorkspace workspace, String script) {
        return workspace.exec(ExecRequest.of(script));
    }

    @Override
    public void markClean(SandboxWorkspace workspace) {
        workspace.markClean();
    }

    /** A workspace's reset, run by the engine (which calls back restoreClean, fetchTo, runUpdate, markClean). */
    void reset(SandboxWorkspace workspace, WorkspaceConfig config, Map<String, String> fetchedSinceClean) {
        engine.reset(config, workspace, config, fetchedSinceClean);
    }

    @Override
    public void restoreClean(WorkspaceConfig config, SandboxWorkspace workspace) {
        workspace.restoreClean();
    }

    @Override
    public RepositoryFetch fetchTo(SandboxWorkspace workspace, RepositoryConfig repository, String commit,
                                   ProgressListener progress) {
        return workspace.fetchOne(repository, commit);
    }

    @Override
    public void discardWorkspace(SandboxWorkspace workspace) {
        try {
            workspace.destroy();
        } catch (RuntimeException ignored) {
            // must not throw: the create's own failure is what the caller hears about
        }
    }
}
