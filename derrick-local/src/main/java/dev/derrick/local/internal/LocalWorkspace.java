package dev.derrick.local.internal;

import dev.derrick.api.DerrickException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspacePaths;
import dev.derrick.core.Redactor;
import dev.derrick.core.exec.CommandEnvironment;
import dev.derrick.core.exec.ProcessRunner;
import dev.derrick.core.exec.ProcessSpec;
import dev.derrick.local.internal.cache.LocalInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A workspace of the local provider: a directory and the processes started in it. Thread-safe.
 */
public final class LocalWorkspace implements Workspace {
    private static final Logger LOG = LoggerFactory.getLogger(LocalWorkspace.class);

    private final String id;
    private final WorkspaceConfig config;
    private final Path root;
    private final CommandEnvironment environment;
    private final long maxOutputBytes;
    private final Duration defaultTimeout;
    private final Redactor redactor;
    private final Consumer<LocalWorkspace> onClose;
    private final Consumer<LocalWorkspace> onDetach;
    private final ProcessRunner runner = new ProcessRunner();
    private final Instant created = Instant.now();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile List<RepositoryState> repositories = List.of();
    private volatile LocalInstance cached;
    private volatile boolean detached;

    public LocalWorkspace(String id, WorkspaceConfig config, Path root, CommandEnvironment environment, long maxOutputBytes,
                          Duration defaultTimeout, Redactor redactor, Consumer<LocalWorkspace> onClose,
                          Consumer<LocalWorkspace> onDetach) {
        this.id = Objects.requireNonNull(id, "id");
        this.config = Objects.requireNonNull(config, "config");
        try {
            this.root = root.toRealPath();
        } catch (IOException e) {
            throw new DerrickException("workspace directory " + root + " is not usable: " + e.getMessage(), e);
        }
        this.environment = environment;
        this.maxOutputBytes = maxOutputBytes;
        this.defaultTimeout = defaultTimeout;
        this.redactor = redactor;
        this.onClose = onClose;
        this.onDetach = onDetach;
    }

    @Override
    public String id() {
        return id;
    }

    /** The workspace directory (a real path). */
    public Path root() {
        return root;
    }

    public Instant created() {
        return created;
    }

    /** Records the cloned repositories once creation is complete. */
    public void ready(List<RepositoryState> states) {
        this.repositories = List.copyOf(states);
    }

    /** Attaches the cache instance this workspace's root was made from: fetch, reset and checkpoints use it. */
    public void attachCache(LocalInstance instance) {
        this.cached = instance;
    }

    @Override
    public WorkspaceInfo info() {
        ensureOpen();
        LocalInstance c = cached;
        return new WorkspaceInfo(id, "local", config.name(), root.toString(), created,
                c == null ? repositories : c.repositories(), c == null ? null : c.cacheEntry().id());
    }

    /**
     * stat, recursive listing, delete, move and mkdirs run as small scripts through {@link #exec}, so they see
     * exactly what commands see (inside the sandbox when there is one) and run with their rights; paths are relative
     * to the root (the working directory), and a parent that resolves through a link out of the root is refused.
     */
    private dev.derrick.core.files.ShellFiles files() {
        return new dev.derrick.core.files.ShellFiles((script, env) -> exec(ExecRequest.of(script).withEnv(env)
                .withTimeout(java.time.Duration.ofMinutes(2))), LocalWorkspace::shown, id,
                dev.derrick.core.files.ShellFiles.CONFINE_TO_WORKING_DIRECTORY);
    }

    /** A path relative to the root as the scripts take it ("." for the root itself). */
    private static String scriptPath(String path, String what) {
        String rel = dev.derrick.api.WorkspacePaths.normalizeRelative(path == null ? "" : path, what);
        return rel.isEmpty() ? "." : rel;
    }

    private static String shown(String p) {
        String s = p.startsWith("./") ? p.substring(2) : p;
        return s.equals(".") ? "" : s;
    }

    @Override
    public dev.derrick.api.FileListing listFiles(String path, int maxDepth, int maxEntries) {
        ensureOpen();
        return files().list(scriptPath(path, "path"), maxDepth, maxEntries);
    }

    @Override
    public java.util.Optional<dev.derrick.api.FileStat> stat(String path) {
        ensureOpen();
        return files().stat(scriptPath(path, "path"));
    }

    @Override
    public void delete(String path, boolean recursive) {
        ensureOpen();
        String p = scriptPath(path, "path");
        if (p.equals(".")) {
            throw new dev.derrick.api.InvalidConfigException("cannot delete '" + path + "': it is the workspace root");
        }
        files().delete(p, recursive);
    }

    @Override
    public void move(String from, String to) {
        ensureOpen();
        String a = scriptPath(from, "from");
        String b = scriptPath(to, "to");
        if (a.equals(".") || b.equals(".")) {
            throw new dev.derrick.api.InvalidConfigException("cannot move '" + from + "' to '" + to
                    + "': the workspace root cannot be moved or replaced");
        }
        files().move(a, b);
    }

    @Override
    public void mkdirs(String path) {
        ensureOpen();
        files().mkdirs(scriptPath(path, "path"));
    }

    /**
     * Per repository the git diff against the clean commit (git runs in the workspace, as commands do), and outside
     * the repositories the files that differ from the cache entry's clean state (without a cache: not tracked).
     */
    @Override
    public dev.derrick.api.WorkspaceDiff diff() {
        ensureOpen();
        List<RepositoryState> repos = info().repositories();
        List<dev.derrick.api.RepositoryDiff> diffs = dev.derrick.api.spi.GitDiffs.repositories(this, repos);
        LocalInstance c = cached;
        if (c == null) {
            return new dev.derrick.api.WorkspaceDiff(diffs, List.of(), false);
        }
        java.util.Set<String> excluded = new java.util.HashSet<>();
        for (RepositoryState r : repos) {
            excluded.add(dev.derrick.api.WorkspacePaths.normalizeRelative(r.path(), "repository path"));
        }
        return new dev.derrick.api.WorkspaceDiff(diffs, c.changesOutside(excluded), true);
    }

    @Override
    public List<RepositoryFetch> fetch() {
        ensureOpen();
        LocalInstance c = cached;
        if (c == null) {
            return Workspace.super.fetch();
        }
        return c.fetch(null);
    }

    @Override
    public void reset() {
        ensureOpen();
        LocalInstance c = cached;
        if (c == null) {
            Workspace.super.reset();
            return;
        }
        c.reset();
    }

    @Override
    public String checkpoint() {
        ensureOpen();
        LocalInstance c = cached;
        return c == null ? Workspace.super.checkpoint() : c.checkpoint();
    }

    @Override
    public void restore(String checkpointId) {
        ensureOpen();
        LocalInstance c = cached;
        if (c == null) {
            Workspace.super.restore(checkpointId);
            return;
        }
        c.restore(checkpointId);
    }

    /** Runs the setup script in the root with the config's env. */
    public ExecResult runSetup(String script, Duration timeout) {
        return runner.run(new ProcessSpec(script, root, environment.build(config.env(), null), timeout, maxOutputBytes));
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        Objects.requireNonNull(request, "request");
        ensureOpen();
        Path dir = resolve(request.workingDir(), "working directory");
        if (!Files.isDirectory(dir)) {
            throw new InvalidConfigException("working directory '" + request.workingDir() + "' "
                    + (Files.exists(dir) ? "is not a directory" : "does not exist") + " in workspace " + id);
        }
        Duration timeout = request.timeout() != null ? request.timeout() : defaultTimeout;
        if (LOG.isDebugEnabled()) {
            LOG.debug("workspace {}: exec {}", id, redactor.redact(abbreviate(request.command())));
        }
        ExecResult result = runner.run(new ProcessSpec(request.command(), dir,
                environment.build(config.env(), request.env()), timeout, maxOutputBytes), listener);
        if (result.timedOut()) {
            LOG.info("workspace {}: command timed out after {} ms and was killed", id, result.elapsed().toMillis());
        }
        return result;
    }

    @Override
    public byte[] readFile(String path) {
        ensureOpen();
        Path file = resolve(path, "path");
        if (Files.isDirectory(file)) {
            throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
        }
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new WorkspaceFileNotFoundException(path, "no such file '" + path + "' in workspace " + id);
        } catch (IOException e) {
            throw new DerrickException("cannot read '" + path + "' in workspace " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void writeFile(String path, byte[] content) {
        Objects.requireNonNull(content, "content");
        ensureOpen();
        Path file = resolve(path, "path");
        if (file.equals(root)) {
            throw new InvalidConfigException("cannot write to the workspace root itself; give a file path");
        }
        try {
            Files.createDirectories(file.getParent());
            checkInside(file, path, "path"); // again, now that the parents exist
            if (Files.isDirectory(file)) {
                throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
            }
            Files.write(file, content);
        } catch (IOException e) {
            throw new DerrickException("cannot write '" + path + "' in workspace " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<FileEntry> listFiles(String path) {
        ensureOpen();
        Path dir = resolve(path, "path");
        if (!Files.isDirectory(dir)) {
            if (!Files.exists(dir)) {
                throw new WorkspaceFileNotFoundException(path, "no such directory '" + path + "' in workspace " + id);
            }
            throw new InvalidConfigException("'" + path + "' is a file in workspace " + id + ", not a directory");
        }
        List<FileEntry> entries = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                BasicFileAttributes attrs = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String rel = root.relativize(child).toString().replace('\\', '/');
                entries.add(new FileEntry(child.getFileName().toString(), rel, attrs.isDirectory(),
                        attrs.isDirectory() ? 0 : attrs.size()));
            }
        } catch (IOException e) {
            throw new DerrickException("cannot list '" + path + "' in workspace " + id + ": " + e.getMessage(), e);
        }
        entries.sort(Comparator.comparing(FileEntry::name));
        return entries;
    }

    /** Kills the workspace's processes and removes its directory. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LOG.info("closing workspace {}", id);
        runner.close();
        LocalInstance c = cached;
        if (c != null) {
            c.close(); // unmounts before anything is deleted
        }
        if (!TreeDeleter.delete(root)) {
            LOG.warn("workspace {}: directory {} could not be removed completely", id, root);
        }
        onClose.accept(this);
    }

    /**
     * Ends the workspace's processes and leaves its directory (an overlay mount stays mounted) to whoever wants to
     * look at it. Its owner record stays, so the next provider on the root reaps it once this JVM is gone; its cache
     * lease stays too and stops counting when this JVM ends.
     */
    @Override
    public synchronized void detach() {
        if (!closed.compareAndSet(false, true)) {
            if (detached) {
                return;
            }
            throw new WorkspaceNotFoundException(id, "workspace " + id + " is closed; there is nothing left to detach");
        }
        detached = true;
        runner.close();
        LocalInstance c = cached;
        if (c != null) {
            c.detach();
        }
        onDetach.accept(this);
        LOG.info("workspace {} detached: {} stays until a local provider starts on its root after this JVM has ended",
                id, root);
    }

    /** Whether {@link #detach()} released it. */
    public boolean isDetached() {
        return detached;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * A path under the root: relative to it, or "absolute" meaning inside the workspace. Rejects {@code ..} climbing
     * out and symbolic links leading out.
     */
    public Path resolve(String path, String what) {
        String relative = WorkspacePaths.normalizeRelative(path == null ? "" : path, what);
        Path resolved = relative.isEmpty() ? root : root.resolve(relative);
        checkInside(resolved, path, what);
        return resolved;
    }

    private void checkInside(Path resolved, String given, String what) {
        Path existing = resolved;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            throw new DerrickException("workspace " + id + " has no directory any more");
        }
        Path real;
        try {
            real = existing.toRealPath();
        } catch (IOException e) {
            // a dangling symbolic link: judge where it points
            try {
                Path target = Files.readSymbolicLink(existing);
                real = existing.getParent().toRealPath().resolve(target).normalize();
            } catch (IOException | UnsupportedOperationException e2) {
                throw new DerrickException("cannot resolve " + what + " '" + given + "' in workspace " + id + ": " + e.getMessage(), e);
            }
        }
        if (!real.startsWith(root)) {
            throw new InvalidConfigException(what + " '" + given + "' leads through a symbolic link to " + real
                    + ", outside workspace " + id);
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new WorkspaceNotFoundException(id, detached
                    ? "workspace " + id + " was detached; its files are at " + root + " until the next provider start"
                    : "workspace " + id + " is closed");
        }
    }

    private static String abbreviate(String command) {
        String oneLine = command.replace('\n', ' ');
        return oneLine.length() > 200 ? oneLine.substring(0, 200) + "…" : oneLine;
    }

    @Override
    public String toString() {
        return "LocalWorkspace[" + id + ", " + root + "]";
    }
}
