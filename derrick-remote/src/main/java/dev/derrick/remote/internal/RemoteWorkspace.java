package dev.derrick.remote.internal;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.OperationNotSupportedException;
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

    @Override
    public WorkspaceInfo info() {
        return Wire.info(call(Op.INFO, Wire.EMPTY, provider.requestTimeout(), null));
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        Duration wait = provider.execWait(request.timeout());
        Reply reply = call(Op.CMD_WITH_OUTPUT, Wire.execBody(request), wait, listener);
        ExecResult result = Wire.execResult(reply);
        if (listener != null && listener != OutputListener.NONE && !provider.transportStreams()) {
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
        throw new OperationNotSupportedException("listFiles is not part of derrick's wire protocol (HTTP/NATS) yet; "
                + "run 'ls' with exec instead");
    }

    @Override
    public List<RepositoryFetch> fetch() {
        return Wire.fetches(call(Op.FETCH, Wire.EMPTY, provider.createTimeout(), null));
    }

    @Override
    public void reset() {
        call(Op.RESET, Wire.EMPTY, provider.createTimeout(), null);
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
