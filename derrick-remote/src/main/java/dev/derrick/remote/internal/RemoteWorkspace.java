package dev.derrick.remote.internal;

import dev.derrick.core.protocol.Operation;
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

    private volatile java.util.Set<dev.derrick.api.Capability> capabilities;

    /**
     * What the agent's workspace supports, of what this client forwards (everything but {@code detach}). The protocol
     * does not carry capabilities, so they are inferred once from the agent's {@link #agentInfo()}: its backend and
     * whether the workspace came from a cache entry. {@code local} and {@code docker} are known (a docker workspace
     * without a cache entry is not claimed to reset; fetch and diff are claimed, as they need only git in the image);
     * another backend gets the conservative set of the file operations alone.
     */
    @Override
    public java.util.Set<dev.derrick.api.Capability> capabilities() {
        java.util.Set<dev.derrick.api.Capability> known = capabilities;
        if (known == null) {
            known = infer(agentInfo());
            capabilities = known;
        }
        return known;
    }

    static java.util.Set<dev.derrick.api.Capability> infer(WorkspaceInfo agent) {
        java.util.Set<dev.derrick.api.Capability> c = java.util.EnumSet.copyOf(dev.derrick.api.Capability.FILE_OPERATIONS);
        boolean cached = agent.cacheEntry() != null;
        switch (agent.provider() == null ? "" : agent.provider()) {
            case "local" -> {
                c.addAll(java.util.EnumSet.of(dev.derrick.api.Capability.DIFF,
                        dev.derrick.api.Capability.BACKGROUND_PROCESSES));
                if (cached) {
                    c.addAll(java.util.EnumSet.of(dev.derrick.api.Capability.FETCH, dev.derrick.api.Capability.RESET,
                            dev.derrick.api.Capability.CHECKPOINT, dev.derrick.api.Capability.FORK));
                }
            }
            case "docker" -> {
                c.addAll(java.util.EnumSet.of(dev.derrick.api.Capability.DIFF, dev.derrick.api.Capability.FETCH,
                        dev.derrick.api.Capability.BACKGROUND_PROCESSES, dev.derrick.api.Capability.CHECKPOINT));
                if (cached) {
                    c.add(dev.derrick.api.Capability.RESET);
                    c.add(dev.derrick.api.Capability.FORK);
                }
            }
            default -> { } // a backend this client does not know: only what every backend of the TCK does
        }
        return java.util.Collections.unmodifiableSet(c);
    }

    /**
     * The details exactly as the agent reports them ({@code GET /workspaces/{id}}): {@link WorkspaceInfo#provider()}
     * is the agent's own backend, e.g. {@code local} or {@code docker}, and {@link WorkspaceInfo#root()} a path on
     * the agent's machine.
     */
    public WorkspaceInfo agentInfo() {
        return RemoteWire.info(call(Operation.INFO, RemoteWire.EMPTY, provider.requestTimeout(), null));
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        Duration wait = provider.execWait(request.timeout());
        RemoteReply reply = call(Operation.CMD_WITH_OUTPUT, RemoteWire.execBody(request), wait, listener);
        ExecResult result = RemoteWire.execResult(reply);
        // an agent that streamed says how many chunks it sent; without that, the output arrives with the result
        if (listener != null && listener != OutputListener.NONE
                && (!provider.transportStreams() || reply.streamCount() < 0)) {
            RemoteWire.replay(result, listener);
        }
        return result;
    }

    @Override
    public byte[] readFile(String path) {
        return call(Operation.READ_FILE, RemoteWire.pathBody(path), provider.requestTimeout(), null).body();
    }

    @Override
    public void writeFile(String path, byte[] content) {
        call(Operation.WRITE_FILE, RemoteWire.writeBody(path, content), provider.requestTimeout(), null);
    }

    @Override
    public List<FileEntry> listFiles(String path) {
        return RemoteWire.fileEntries(call(Operation.LIST_FILES, RemoteWire.listFilesBody(path == null ? "" : path),
                provider.requestTimeout(), null));
    }

    @Override
    public dev.derrick.api.FileListing listFiles(String path, int maxDepth, int maxEntries) {
        return RemoteWire.reply(call(Operation.LIST_RECURSIVE, RemoteWire.write(new dev.derrick.core.wire.Wire.ListRecursiveBody(
                path == null ? "" : path, null, maxDepth, maxEntries)), provider.requestTimeout(), null),
                dev.derrick.core.wire.Wire.FileTree.class, Operation.LIST_RECURSIVE).toListing();
    }

    @Override
    public java.util.Optional<dev.derrick.api.FileStat> stat(String path) {
        RemoteReply reply = provider.transport().call(Operation.STAT, ref, RemoteWire.write(new dev.derrick.core.wire.Wire.PathBody(path, null)),
                provider.requestTimeout(), null);
        ensureOpen();
        if (reply.status() == 404 && reply.text().contains(dev.derrick.core.wire.WireError.FILE_NOT_FOUND)) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(RemoteWire.reply(RemoteWire.check(reply, Operation.STAT, ref.id()),
                dev.derrick.core.wire.Wire.FileStatBody.class, Operation.STAT).toStat());
    }

    @Override
    public void delete(String path, boolean recursive) {
        call(Operation.DELETE_FILE, RemoteWire.write(new dev.derrick.core.wire.Wire.DeleteBody(path, null, recursive)),
                provider.requestTimeout(), null);
    }

    @Override
    public void move(String from, String to) {
        call(Operation.MOVE_FILE, RemoteWire.write(new dev.derrick.core.wire.Wire.MoveBody(from, to, null)), provider.requestTimeout(),
                null);
    }

    @Override
    public void mkdirs(String path) {
        call(Operation.MKDIR, RemoteWire.write(new dev.derrick.core.wire.Wire.PathBody(path, null)), provider.requestTimeout(), null);
    }

    /** Edits on the agent, in one request (not a read and a write over the wire). */
    @Override
    public int editFile(String path, String oldText, String newText, boolean replaceAll) {
        return RemoteWire.reply(call(Operation.EDIT_FILE, RemoteWire.write(new dev.derrick.core.wire.Wire.EditBody(path, oldText, newText,
                replaceAll, null)), provider.requestTimeout(), null), dev.derrick.core.wire.Wire.EditReply.class,
                Operation.EDIT_FILE).replacements();
    }

    @Override
    public dev.derrick.api.WorkspaceDiff diff() {
        return RemoteWire.reply(call(Operation.DIFF, RemoteWire.EMPTY, provider.createTimeout(), null),
                dev.derrick.core.wire.Wire.DiffReply.class, Operation.DIFF).toDiff();
    }

    @Override
    public dev.derrick.api.WorkspaceProcess start(ExecRequest request) {
        String pid = RemoteWire.reply(call(Operation.CMD_WITH_OUTPUT, RemoteWire.write(dev.derrick.core.wire.Wire.CmdBody.background(request)),
                provider.requestTimeout(), null), dev.derrick.core.wire.Wire.PidReply.class, Operation.CMD_WITH_OUTPUT).pid();
        if (pid == null || pid.isBlank()) {
            throw new dev.derrick.api.DerrickException("the agent's reply to a background start carries no process id");
        }
        return new RemoteProcess(this, pid);
    }

    @Override
    public List<dev.derrick.api.WorkspaceProcess> processes() {
        return RemoteWire.reply(call(Operation.PROCESSES, RemoteWire.EMPTY, provider.requestTimeout(), null),
                dev.derrick.core.wire.Wire.ProcessList.class, Operation.PROCESSES).processes().stream()
                .map(p -> (dev.derrick.api.WorkspaceProcess) new RemoteProcess(this, p.pid())).toList();
    }

    @Override
    public java.util.Optional<dev.derrick.api.WorkspaceProcess> process(String processId) {
        try {
            callProcess(Operation.PROCESS_INFO, processId, RemoteWire.EMPTY, provider.requestTimeout());
            return java.util.Optional.of(new RemoteProcess(this, processId));
        } catch (dev.derrick.api.ProcessNotFoundException e) {
            return java.util.Optional.empty();
        }
    }

    /** Sends an operation on one of this workspace's background processes. */
    RemoteReply callProcess(Operation op, String processId, byte[] body, Duration timeout) {
        ensureOpen();
        return RemoteWire.check(provider.transport().call(op, ref, processId, body, timeout), op, ref.id());
    }

    RemoteProvider provider() {
        return provider;
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new WorkspaceNotFoundException(ref.id(), "workspace '" + ref.id() + "' is closed");
        }
    }

    @Override
    public List<RepositoryFetch> fetch() {
        return RemoteWire.fetches(call(Operation.FETCH, RemoteWire.EMPTY, provider.createTimeout(), null));
    }

    @Override
    public void reset() {
        call(Operation.RESET, RemoteWire.EMPTY, provider.createTimeout(), null);
    }

    /** Records the current state on the agent; may copy the whole tree, so it waits as long as a reset. */
    @Override
    public String checkpoint() {
        return RemoteWire.checkpointId(call(Operation.CHECKPOINT, RemoteWire.EMPTY, provider.createTimeout(), null));
    }

    @Override
    public void restore(String checkpointId) {
        if (checkpointId == null || checkpointId.isBlank()) {
            throw new InvalidConfigException("restore needs the id a checkpoint() of workspace '" + ref.id()
                    + "' returned, got " + (checkpointId == null ? "null" : "'" + checkpointId + "'"));
        }
        call(Operation.RESTORE, RemoteWire.restoreBody(checkpointId), provider.createTimeout(), null);
    }

    /** Forks on the agent; the new workspaces live on the same agent and close with this client's provider. */
    @Override
    public List<Workspace> fork(int count) {
        Workspace.checkForkCount(count);
        List<String> ids = RemoteWire.forkedIds(call(Operation.FORK, RemoteWire.forkBody(count), provider.createTimeout(), null));
        List<Workspace> out = new java.util.ArrayList<>();
        for (String id : ids) {
            out.add(provider.adopt(new RemoteRef(id, ref.agent())));
        }
        return List.copyOf(out);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                provider.transportForClose().call(Operation.DELETE, ref, RemoteWire.EMPTY, provider.requestTimeout(), null);
            } catch (WorkspaceNotFoundException alreadyGone) {
                // closing is idempotent: a workspace that is already gone is closed
            } finally {
                provider.forget(this);
            }
        }
    }

    private RemoteReply call(Operation op, byte[] body, Duration timeout, OutputListener listener) {
        if (closed.get()) {
            throw new WorkspaceNotFoundException(ref.id(), "workspace '" + ref.id() + "' is closed");
        }
        RemoteReply reply = provider.transport().call(op, ref, body, timeout, listener);
        return RemoteWire.check(reply, op, ref.id());
    }

    @Override
    public String toString() {
        return "RemoteWorkspace[" + ref.id() + (ref.agent() == null ? "" : " on agent " + ref.agent()) + "]";
    }
}
