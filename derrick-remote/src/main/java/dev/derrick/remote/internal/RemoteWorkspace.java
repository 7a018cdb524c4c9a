package dev.derrick.remote.internal;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceNotFoundException;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/** A workspace that lives on an agent, reached through a {@link Transport}. Thread-safe. */
public final class RemoteWorkspace implements Workspace {
    private final RemoteProvider provider;
    private final RemoteRef ref;
    private final AtomicBoolean closed = new AtomicBoolean();

    RemoteWorkspace(RemoteProvider provider, RemoteRef ref) {
        this.provider = provider;
        this.ref = ref;
    }

    @Override
    public String id() {
        return ref.id();
    }

    /** Where it lives. */
    public RemoteRef ref() {
        return ref;
    }

    /**
     * The workspace's details with {@link WorkspaceInfo#provider()} naming the provider it was opened with
     * ({@code remote_http} or {@code remote_nats}), as for every provider. The backend the agent runs it on
     * ({@code local}, {@code docker}, …) is in {@link #agentInfo()}.
     */
    @Override
    public WorkspaceInfo info() {
        WorkspaceInfo agent = agentInfo();
        return new WorkspaceInfo(agent.id(), provider.name(), agent.configName(), agent.root(), agent.created(),
                agent.repositories(), agent.cacheEntry(), agent.isolation());
    }

    /**
     * The details exactly as the agent reports them ({@code GET /workspaces/{id}}): {@link WorkspaceInfo#provider()}
     * is the agent's own backend, e.g. {@code local} or {@code docker}, and {@link WorkspaceInfo#root()} a path on
     * the agent's machine.
     */
    public WorkspaceInfo agentInfo() {
        return Wire.info(call(Op.INFO, Wire.EMPTY, provider.requestTimeout(), null));
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        Duration wait = provider.execWait(request.timeout());
        Reply reply = call(Op.CMD_WITH_OUTPUT, Wire.execBody(request), wait, listener);
        ExecResult result = Wire.execResult(reply);
        // an agent that streamed says how many chunks it sent; without that, the output arrives with the result
        if (listener != null && listener != OutputListener.NONE
                && (!provider.transportStreams() || reply.streamCount() < 0)) {
            Wire.replay(result, listener);
        }
        return result;
    }

    @Override
    public byte[] readFile(String path) {
        return call(Op.READ_FILE, Wire.pathBody(path), provider.requestTimeout(), null).body();
    }

    @Override
    public void writeFile(String path, byte[] content) {
        call(Op.WRITE_FILE, Wire.writeBody(path, content), provider.requestTimeout(), null);
    }

    @Override
    public List<FileEntry> listFiles(String path) {
        return Wire.fileEntries(call(Op.LIST_FILES, Wire.listFilesBody(path == null ? "" : path),
                provider.requestTimeout(), null));
    }

    @Override
    public List<RepositoryFetch> fetch() {
        return Wire.fetches(call(Op.FETCH, Wire.EMPTY, provider.createTimeout(), null));
    }

    @Override
    public void reset() {
        call(Op.RESET, Wire.EMPTY, provider.createTimeout(), null);
    }

    /** Records the current state on the agent; may copy the whole tree, so it waits as long as a reset. */
    @Override
    public String checkpoint() {
        return Wire.checkpointId(call(Op.CHECKPOINT, Wire.EMPTY, provider.createTimeout(), null));
    }

    @Override
    public void restore(String checkpointId) {
        if (checkpointId == null || checkpointId.isBlank()) {
            throw new InvalidConfigException("restore needs the id a checkpoint() of workspace '" + ref.id()
                    + "' returned, got " + (checkpointId == null ? "null" : "'" + checkpointId + "'"));
        }
        call(Op.RESTORE, Wire.restoreBody(checkpointId), provider.createTimeout(), null);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                provider.transportForClose().call(Op.DELETE, ref, Wire.EMPTY, provider.requestTimeout(), null);
            } catch (WorkspaceNotFoundException alreadyGone) {
                // closing is idempotent: a workspace that is already gone is closed
            } finally {
                provider.forget(this);
            }
        }
    }

    private Reply call(Op op, byte[] body, Duration timeout, OutputListener listener) {
        if (closed.get()) {
            throw new WorkspaceNotFoundException(ref.id(), "workspace '" + ref.id() + "' is closed");
        }
        Reply reply = provider.transport().call(op, ref, body, timeout, listener);
        return Wire.check(reply, op, ref.id());
    }

    @Override
    public String toString() {
        return "RemoteWorkspace[" + ref.id() + (ref.agent() == null ? "" : " on agent " + ref.agent()) + "]";
    }
}
