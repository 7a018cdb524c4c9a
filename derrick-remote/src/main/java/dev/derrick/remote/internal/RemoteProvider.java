package dev.derrick.remote.internal;

import dev.derrick.core.protocol.Operation;
import dev.derrick.api.DerrickException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A provider whose workspaces live on derrick agents. {@link #list()} holds the workspaces this instance created;
 * {@link #find(String)} also reaches workspaces other controllers created, when the transport can locate them.
 */
public final class RemoteProvider implements WorkspaceProvider {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteProvider.class);

    private final String name;
    private final Transport transport;
    private final Duration requestTimeout;
    private final Duration createTimeout;
    private final Duration defaultExecTimeout;
    private final boolean streams;
    private final WorkspaceLocator locator;
    private final Map<String, RemoteWorkspace> created = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Finds which agent holds a workspace this instance did not create. */
    @FunctionalInterface
    public interface WorkspaceLocator {
        Optional<RemoteRef> locate(String workspaceId);
    }

    public RemoteProvider(String name, Transport transport, Duration requestTimeout, Duration createTimeout,
                          Duration defaultExecTimeout, boolean streams, WorkspaceLocator locator) {
        this.name = name;
        this.transport = transport;
        this.requestTimeout = requestTimeout;
        this.createTimeout = createTimeout;
        this.defaultExecTimeout = defaultExecTimeout;
        this.streams = streams;
        this.locator = locator;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        ensureOpen();
        for (RepositoryConfig repo : config.repositories()) {
            if (repo.auth() != null && repo.auth().tokenEnvironmentVariable().isEmpty()) {
                throw new InvalidConfigException("repository '" + repo.path() + "' has an inline auth.token: "
                        + name + " never sends tokens to an agent; use auth.token_env, which the agent resolves "
                        + "from its own environment");
            }
        }
        ProgressListener p = progress == null ? ProgressListener.NONE : progress;
        RemoteReply reply = RemoteWire.check(transport.call(Operation.CREATE, null, RemoteWire.createBody(config), createTimeout, null),
                Operation.CREATE, null);
        RemoteWorkspace ws = new RemoteWorkspace(this, new RemoteRef(RemoteWire.createdId(reply), reply.agent()));
        created.put(ws.id(), ws);
        if (closed.get()) {
            ws.close();
            ensureOpen();
        }
        return ws;
    }

    /** A workspace the agent made for this client outside a create (a fork): tracked, closed with the provider. */
    RemoteWorkspace adopt(RemoteRef ref) {
        RemoteWorkspace ws = new RemoteWorkspace(this, ref);
        created.put(ws.id(), ws);
        return ws;
    }

    @Override
    public List<Workspace> list() {
        return new ArrayList<>(created.values());
    }

    @Override
    public Optional<Workspace> find(String id) {
        RemoteWorkspace mine = created.get(id);
        if (mine != null) {
            return Optional.of(mine);
        }
        return locator.locate(id).map(ref -> new RemoteWorkspace(this, ref));
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (RemoteWorkspace ws : new ArrayList<>(created.values())) {
                try {
                    ws.close();
                } catch (RuntimeException e) {
                    LOG.warn("could not close workspace {}: {}", ws.id(), e.getMessage());
                }
            }
            transport.close();
        }
    }

    void forget(RemoteWorkspace ws) {
        created.remove(ws.id(), ws);
    }

    Transport transport() {
        ensureOpen();
        return transport;
    }

    /** The transport, also while {@link #close()} closes the workspaces. */
    Transport transportForClose() {
        return transport;
    }

    Duration requestTimeout() {
        return requestTimeout;
    }

    Duration createTimeout() {
        return createTimeout;
    }

    boolean transportStreams() {
        return streams;
    }

    /** How long to wait for a command's reply: its own timeout (or the default) plus the request timeout. */
    Duration execWait(Duration commandTimeout) {
        return (commandTimeout == null ? defaultExecTimeout : commandTimeout).plus(requestTimeout);
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new DerrickException("provider " + name + " is closed");
        }
    }

    @Override
    public String toString() {
        return name + "[" + transport.describe() + "]";
    }
}
