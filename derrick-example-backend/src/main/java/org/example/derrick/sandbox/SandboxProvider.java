package org.example.derrick.sandbox;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** Workspaces as directories under one root. Thread-safe. */
final class SandboxProvider implements WorkspaceProvider {
    private final Path root;
    private final Duration defaultTimeout;
    private final Map<String, String> environment;
    private final List<SandboxWorkspace> live = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    SandboxProvider(Path root, Duration defaultTimeout, Map<String, String> environment) {
        this.root = root;
        this.defaultTimeout = defaultTimeout;
        this.environment = Map.copyOf(environment);
    }

    @Override
    public String name() {
        return SandboxProviderFactory.NAME;
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        if (closed) {
            throw new ProviderUnavailableException("the sandbox provider was closed");
        }
        String id = dev.derrick.api.spi.WorkspaceIds.newId(SandboxProviderFactory.NAME);
        Path home;
        try {
            home = Files.createDirectories(root.resolve(id));
        } catch (IOException e) {
            throw new ProviderUnavailableException("cannot create a workspace directory under " + root + ": " + e.getMessage(), e);
        }
        SandboxWorkspace workspace = new SandboxWorkspace(this, id, home, config, defaultTimeout, environment);
        try {
            workspace.setUp(ProgressListener.orNone(progress));
        } catch (RuntimeException | Error e) {
            workspace.destroy();
            throw e;
        }
        live.add(workspace);
        if (closed) {
            workspace.close();
            throw new DerrickException("the sandbox provider was closed while workspace " + id + " was created");
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
        for (SandboxWorkspace workspace : live) {
            workspace.close();
        }
    }
}
