package dev.derrick.core.pool;

import dev.derrick.api.Capability;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.FileListing;
import dev.derrick.api.FileStat;
import dev.derrick.api.OutputListener;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceDiff;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceProcess;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A {@link Workspace} that hands every operation to another one: the base of decorators (a pooled workspace handed
 * out with its create request's env). Subclasses override what they change.
 */
public class ForwardingWorkspace implements Workspace {
    private final Workspace delegate;

    public ForwardingWorkspace(Workspace delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** The workspace operations go to. */
    public Workspace delegate() {
        return delegate;
    }

    @Override
    public String id() {
        return delegate.id();
    }

    @Override
    public WorkspaceInfo info() {
        return delegate.info();
    }

    @Override
    public Set<Capability> capabilities() {
        return delegate.capabilities();
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        return delegate.exec(request, listener);
    }

    @Override
    public byte[] readFile(String path) {
        return delegate.readFile(path);
    }

    @Override
    public void writeFile(String path, byte[] content) {
        delegate.writeFile(path, content);
    }

    @Override
    public List<FileEntry> listFiles(String path) {
        return delegate.listFiles(path);
    }

    @Override
    public FileListing listFiles(String path, int maxDepth, int maxEntries) {
        return delegate.listFiles(path, maxDepth, maxEntries);
    }

    @Override
    public Optional<FileStat> stat(String path) {
        return delegate.stat(path);
    }

    @Override
    public boolean exists(String path) {
        return delegate.exists(path);
    }

    @Override
    public void delete(String path, boolean recursive) {
        delegate.delete(path, recursive);
    }

    @Override
    public void move(String from, String to) {
        delegate.move(from, to);
    }

    @Override
    public void mkdirs(String path) {
        delegate.mkdirs(path);
    }

    @Override
    public int editFile(String path, String oldText, String newText, boolean replaceAll) {
        return delegate.editFile(path, oldText, newText, replaceAll);
    }

    @Override
    public WorkspaceDiff diff() {
        return delegate.diff();
    }

    @Override
    public WorkspaceProcess start(ExecRequest request) {
        return delegate.start(request);
    }

    @Override
    public List<WorkspaceProcess> processes() {
        return delegate.processes();
    }

    @Override
    public Optional<WorkspaceProcess> process(String processId) {
        return delegate.process(processId);
    }

    @Override
    public List<RepositoryFetch> fetch() {
        return delegate.fetch();
    }

    @Override
    public void reset() {
        delegate.reset();
    }

    @Override
    public String checkpoint() {
        return delegate.checkpoint();
    }

    @Override
    public void restore(String checkpointId) {
        delegate.restore(checkpointId);
    }

    @Override
    public List<Workspace> fork(int count) {
        return delegate.fork(count);
    }

    @Override
    public void detach() {
        delegate.detach();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
