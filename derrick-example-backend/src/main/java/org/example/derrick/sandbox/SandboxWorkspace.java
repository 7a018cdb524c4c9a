package org.example.derrick.sandbox;

import dev.derrick.api.CheckpointNotFoundException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceBusyException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspacePaths;
import dev.derrick.api.spi.CachedSnapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Stream;

/**
 * A directory workspace: {@code <home>/root} is the workspace. Its clean state (what {@link #reset()} returns to) is
 * the cache entry's tree it was copied from, until {@link #markClean()} gives it a copy of its own in
 * {@code <home>/clean}; a checkpoint is a copy in {@code <home>/checkpoints/}. The engine made it (cloned, ran the
 * setup script, fetched, ran the update script); this class only runs commands, serves files and copies directories.
 */
final class SandboxWorkspace implements Workspace {
    private static final Set<String> INHERITED = Set.of("PATH", "LANG", "LC_ALL", "TERM", "TZ");

    private final SandboxProvider provider;
    private final String id;
    private final Path home;
    private final Path root;
    private final WorkspaceConfig config;
    private final Duration defaultTimeout;
    private final Map<String, String> providerEnv;
    private final Instant created = Instant.now();
    private final Set<Process> running = ConcurrentHashMap.newKeySet();
    /** Commands and file operations share the workspace; reset, checkpoints and close need it alone. */
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;

    /** The leased cache entry this workspace came from ({@code null} with the cache off); released on close. */
    private final CachedSnapshot snapshot;
    private final GitCli git;
    /** The repositories as the engine cloned them (name, url, "cloned"), by path. */
    private final Map<String, RepositoryState> built = new LinkedHashMap<>();
    /** What {@link #reset()} copies back. */
    private volatile Path clean;
    /** The latest fetch of each repository (for info()), and the remotes a fetch could not reach. */
    private final Map<String, RepositoryFetch> fetches = new ConcurrentHashMap<>();
    private final Set<String> unreachable = ConcurrentHashMap.newKeySet();
    /** Commits a fetch brought since the clean state was recorded: a reset returns to them (path to commit). */
    private final Map<String, String> fetchedSinceClean = new ConcurrentHashMap<>();
    private final Map<String, Path> checkpoints = new ConcurrentHashMap<>();
    private final AtomicInteger checkpointCount = new AtomicInteger();

    SandboxWorkspace(SandboxProvider provider, String id, Path home, WorkspaceConfig config, Duration defaultTimeout,
                     Map<String, String> providerEnv, CachedSnapshot snapshot, List<RepositoryState> states) {
        this.provider = provider;
        this.id = id;
        this.home = home;
        this.root = home.resolve("root");
        this.config = config;
        this.defaultTimeout = defaultTimeout;
        this.providerEnv = providerEnv;
        this.snapshot = snapshot;
        this.git = new GitCli(env(providerEnv, root, Map.of()), providerEnv, defaultTimeout);
        this.clean = snapshot == null ? null : snapshot.directory().resolve(snapshot.payload());
        states.forEach(s -> built.put(s.path(), s));
    }

    /** The environment of every command: a few of the provider's variables, HOME, then {@code extra}. */
    static Map<String, String> env(Map<String, String> providerEnv, Path home, Map<String, String> extra) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String name : INHERITED) {
            String value = providerEnv.get(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        env.putIfAbsent("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", home.toString());
        env.putAll(extra);
        return env;
    }

    @Override
    public String id() {
        return id;
    }

    /** The file operations, diff, fetch, reset and checkpoints; no background processes or detach. */
    @Override
    public java.util.Set<dev.derrick.api.Capability> capabilities() {
        java.util.Set<dev.derrick.api.Capability> c = java.util.EnumSet.copyOf(dev.derrick.api.Capability.FILE_OPERATIONS);
        c.addAll(java.util.EnumSet.of(dev.derrick.api.Capability.DIFF, dev.derrick.api.Capability.FETCH,
                dev.derrick.api.Capability.RESET, dev.derrick.api.Capability.CHECKPOINT));
        return java.util.Collections.unmodifiableSet(c);
    }

    @Override
    public WorkspaceInfo info() {
        ensureOpen();
        List<RepositoryState> repos = new ArrayList<>();
        for (RepositoryConfig repo : config.repositories()) {
            Path dir = repositoryDirectory(repo);
            String commit = Files.isDirectory(dir) ? git.commit(dir) : null;
            String branch = Files.isDirectory(dir) ? git.branch(dir) : null;
            RepositoryState cloned = built.get(repo.path());
            String name = repo.name() != null ? repo.name() : cloned == null ? null : cloned.name();
            RepositoryFetch fetch = fetches.get(repo.path());
            RepositoryState state = new RepositoryState(repo.path(), repo.url(), commit, branch, name, null, false,
                    cloned == null ? null : cloned.status());
            if (unreachable.contains(repo.path())) {
                state = state.unreachable();
            } else if (fetch != null) {
                state = new RepositoryState(repo.path(), repo.url(), commit, branch, name, fetch.remote(),
                        fetch.behind(), fetch.status());
            }
            repos.add(state);
        }
        return new WorkspaceInfo(id, SandboxProviderFactory.NAME, config.name(), root.toString(), created, repos,
                snapshot == null ? null : snapshot.id());
    }

    Path repositoryDirectory(RepositoryConfig repo) {
        return root.resolve(repo.path());
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        lock.readLock().lock();
        try {
            ensureOpen();
            Path dir = resolve(request.workingDir() == null ? "" : request.workingDir());
            if (!Files.isDirectory(dir)) {
                throw new DerrickException("working directory '" + request.workingDir() + "' does not exist in workspace " + id);
            }
            Map<String, String> env = env(providerEnv, root, config.env());
            env.putAll(request.env());
            Duration timeout = request.timeout() == null ? defaultTimeout : request.timeout();
            List<Process> mine = new ArrayList<>();
            try {
                return CommandRunner.run(List.of("sh", "-c", request.command()), dir, env, timeout, listener, p -> {
                    mine.add(p);
                    running.add(p);
                });
            } finally {
                mine.forEach(running::remove);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new WorkspaceNotFoundException(id, "workspace " + id + " was closed");
        }
    }

    /** A path inside the workspace; refuses one that leaves it, also through a symbolic link. */
    private Path resolve(String path) {
        Path resolved = root.resolve(WorkspacePaths.normalizeRelative(path, "path"));
        try {
            Path existing = resolved;
            while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
                existing = existing.getParent();
            }
            if (existing != null && !existing.toRealPath().startsWith(root.toRealPath())) {
                throw new dev.derrick.api.InvalidPathException(path, "path '" + path + "' leads out of workspace " + id);
            }
        } catch (IOException e) {
            throw new DerrickException("cannot resolve path '" + path + "': " + e.getMessage(), e);
        }
        return resolved;
    }

    @Override
    public byte[] readFile(String path) {
        lock.readLock().lock();
        try {
            ensureOpen();
            Path file = resolve(path);
            if (Files.isDirectory(file)) {
                throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id);
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new WorkspaceFileNotFoundException(path, "no file '" + path + "' in workspace " + id);
        } catch (IOException e) {
            throw new DerrickException("cannot read '" + path + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void writeFile(String path, byte[] content) {
        lock.readLock().lock();
        try {
            ensureOpen();
            Path file = resolve(path);
            if (file.equals(root)) {
                throw new DerrickException("cannot write the workspace root as a file");
            }
            Files.createDirectories(file.getParent());
            Path temp = Files.createTempFile(file.getParent(), ".write-", ".tmp");
            Files.write(temp, content);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DerrickException("cannot write '" + path + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<FileEntry> listFiles(String path) {
        lock.readLock().lock();
        try (Stream<Path> entries = Files.list(resolve(path))) {
            ensureOpen();
            return entries.sorted(Comparator.comparing(p -> p.getFileName().toString())).map(p -> {
                // Describe a symbolic link itself, never its target: a link to a file outside the workspace must
                // not tell its size or whether it is a directory (the TCK checks).
                boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
                long size;
                try {
                    size = dir ? 0 : Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                            LinkOption.NOFOLLOW_LINKS).size();
                } catch (IOException e) {
                    size = 0;
                }
                return new FileEntry(p.getFileName().toString(), root.relativize(p).toString(), dir, size);
            }).toList();
        } catch (NoSuchFileException e) {
            throw new WorkspaceFileNotFoundException(path, "no directory '" + path + "' in workspace " + id);
        } catch (IOException e) {
            throw new DerrickException("cannot list '" + path + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    // ---- the rest of the file API, with java.nio on the workspace directory; links are never followed ----------

    /** Like {@link #resolve} for the parent; the last component is taken as it is (a link there is not followed). */
    private Path resolveLink(String path) {
        String rel = WorkspacePaths.normalizeRelative(path, "path");
        int slash = rel.lastIndexOf('/');
        if (rel.isEmpty()) {
            return root;
        }
        return resolve(slash < 0 ? "" : rel.substring(0, slash)).resolve(rel.substring(slash + 1));
    }

    @Override
    public java.util.Optional<dev.derrick.api.FileStat> stat(String path) {
        lock.readLock().lock();
        try {
            ensureOpen();
            Path p = resolveLink(path);
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(describe(p));
        } catch (IOException e) {
            throw new DerrickException("cannot stat '" + path + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    private dev.derrick.api.FileStat describe(Path p) throws IOException {
        java.nio.file.attribute.PosixFileAttributes a = Files.readAttributes(p,
                java.nio.file.attribute.PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        dev.derrick.api.FileType type = a.isSymbolicLink() ? dev.derrick.api.FileType.SYMLINK
                : a.isDirectory() ? dev.derrick.api.FileType.DIRECTORY
                : a.isRegularFile() ? dev.derrick.api.FileType.FILE : dev.derrick.api.FileType.OTHER;
        int mode = 0;
        for (java.nio.file.attribute.PosixFilePermission perm : a.permissions()) {
            mode |= 1 << (8 - perm.ordinal());
        }
        return new dev.derrick.api.FileStat(root.relativize(p).toString(), type,
                type == dev.derrick.api.FileType.DIRECTORY ? 0 : a.size(), mode, a.lastModifiedTime().toInstant(),
                a.isSymbolicLink() ? Files.readSymbolicLink(p).toString() : null);
    }

    @Override
    public dev.derrick.api.FileListing listFiles(String path, int maxDepth, int maxEntries) {
        if (maxDepth < 1 || maxEntries < 1) {
            throw new InvalidConfigException("max_depth and max_entries must be at least 1");
        }
        lock.readLock().lock();
        try {
            ensureOpen();
            Path dir = resolve(path);
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new WorkspaceFileNotFoundException(path, "no directory '" + path + "' in workspace " + id);
            }
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new InvalidConfigException("'" + path + "' is not a directory in workspace " + id);
            }
            List<dev.derrick.api.FileStat> out = new ArrayList<>();
            boolean truncated = walk(dir, 1, maxDepth, maxEntries, out);
            return new dev.derrick.api.FileListing(out, truncated);
        } catch (IOException e) {
            throw new DerrickException("cannot list '" + path + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Depth first, siblings by name; returns whether the limit cut the listing short. */
    private boolean walk(Path dir, int depth, int maxDepth, int maxEntries, List<dev.derrick.api.FileStat> out)
            throws IOException {
        List<Path> children;
        try (Stream<Path> s = Files.list(dir)) {
            children = s.sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
        for (Path child : children) {
            if (out.size() >= maxEntries) {
                return true;
            }
            out.add(describe(child));
            if (depth < maxDepth && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)
                    && walk(child, depth + 1, maxDepth, maxEntries, out)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void delete(String path, boolean recursive) {
        lock.readLock().lock();
        try {
            ensureOpen();
            Path p = resolveLink(path);
            if (p.equals(root)) {
                throw new InvalidConfigException("cannot delete '" + path + "': it is the workspace root");
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new WorkspaceFileNotFoundException(path, "nothing to delete at '" + path + "' in workspace " + id);
            }
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                if (!recursive) {
                    try {
                        Files.delete(p);
                    } catch (java.nio.file.DirectoryNotEmptyException e) {
                        throw new InvalidConfigException("cannot delete '" + path + "': the directory is not empty"
                                + " (set recursive to delete it with its contents)");
                    }
                    return;
                }
                Trees.delete(p);
            } else {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new DerrickException("cannot delete '" + path + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void move(String from, String to) {
        lock.readLock().lock();
        try {
            ensureOpen();
            Path a = resolveLink(from);
            Path b = resolveLink(to);
            if (a.equals(root) || b.equals(root)) {
                throw new InvalidConfigException("the workspace root cannot be moved or replaced");
            }
            if (!Files.exists(a, LinkOption.NOFOLLOW_LINKS)) {
                throw new WorkspaceFileNotFoundException(from, "nothing to move at '" + from + "' in workspace " + id);
            }
            if (Files.isDirectory(b, LinkOption.NOFOLLOW_LINKS)) {
                throw new InvalidConfigException("cannot move to '" + to + "': a directory is there (give the full new"
                        + " path, not the directory to move into)");
            }
            if (b.startsWith(a)) {
                throw new InvalidConfigException("cannot move '" + from + "' into itself ('" + to + "')");
            }
            Files.createDirectories(b.getParent());
            Files.move(a, b, StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new InvalidConfigException("cannot move to '" + to + "': its parent cannot be created (a file is in the way)");
        } catch (IOException e) {
            throw new DerrickException("cannot move '" + from + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void mkdirs(String path) {
        lock.readLock().lock();
        try {
            ensureOpen();
            Files.createDirectories(resolve(path));
        } catch (java.nio.file.FileSystemException e) { // a file in the way: exists, or "Not a directory"
            throw new InvalidConfigException("cannot create directory '" + path + "': a file is in the way");
        } catch (IOException e) {
            throw new DerrickException("cannot create directory '" + path + "': " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** git runs in the workspace, as every command does; changes outside repositories are not tracked. */
    @Override
    public dev.derrick.api.WorkspaceDiff diff() {
        ensureOpen();
        return new dev.derrick.api.WorkspaceDiff(dev.derrick.api.spi.GitDiffs.repositories(this, info().repositories()),
                List.of(), false);
    }


    // ---- fetch, reset, checkpoints: git commands and directory copies ------------------------------------------

    @Override
    public List<RepositoryFetch> fetch() {
        lock.readLock().lock();
        try {
            ensureOpen();
            List<RepositoryFetch> results = new ArrayList<>();
            for (RepositoryConfig repo : config.repositories()) {
                results.add(fetchOne(repo, null));
            }
            return results;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Brings one repository up to date with its remote, or with a {@code target} to that commit (see
     * {@link GitCli#update}), and remembers the outcome for {@code info()} and {@code reset()}. The engine calls this
     * for the create-time fetch too.
     *
     * @throws GitOperationException when the remote cannot be reached
     */
    RepositoryFetch fetchOne(RepositoryConfig repo, String target) {
        RepositoryFetch result = git.update(repo, repositoryDirectory(repo), target);
        fetches.put(repo.path(), result);
        unreachable.remove(repo.path());
        if (result.updated()) {
            fetchedSinceClean.put(repo.path(), result.after());
        }
        return result;
    }

    /** Called by the engine during the create: what its fetch found. */
    void recordFetches(List<RepositoryFetch> fetched, Set<String> unreachablePaths) {
        fetched.forEach(f -> fetches.put(f.path(), f));
        unreachable.addAll(unreachablePaths);
    }

    /** The workspace as it is now becomes its clean state: a copy of its own, the cache entry's tree no longer. */
    void markClean() {
        Path next = home.resolve("clean.next");
        Path own = home.resolve("clean");
        try {
            Trees.delete(next);
            Trees.copy(root, next);
            Trees.delete(own);
            Files.move(next, own, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DerrickException("recording the clean state of workspace " + id + " failed: " + e.getMessage(), e);
        }
        clean = own;
        fetchedSinceClean.clear();
    }

    /**
     * Copies the clean state back. When a {@link #fetch()} moved a repository since, the engine returns it to the
     * fetched commit, runs the update script, and makes that the clean state (so the next reset needs no network):
     * {@link dev.derrick.api.spi.ProvisioningEngine#reset}, calling back {@link #restoreClean} and {@link #fetchOne}.
     */
    @Override
    public void reset() {
        exclusively("reset", () -> {
            Map<String, String> moved = Map.copyOf(fetchedSinceClean);
            fetchedSinceClean.clear();
            provider.reset(this, config, moved);
        });
    }

    /** The engine's first step of a reset (it holds the workspace already): the clean state's files back. */
    void restoreClean() {
        try {
            replaceRootWith(clean);
        } catch (IOException e) {
            throw new DerrickException("resetting workspace " + id + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public String checkpoint() {
        String checkpointId = "checkpoint-" + checkpointCount.incrementAndGet();
        exclusively("checkpoint", () -> {
            Path copy = home.resolve("checkpoints").resolve(checkpointId);
            Trees.copy(root, copy);
            checkpoints.put(checkpointId, copy);
        });
        return checkpointId;
    }

    @Override
    public void restore(String checkpointId) {
        exclusively("restore", () -> {
            Path copy = checkpoints.get(checkpointId);
            if (copy == null) {
                throw new CheckpointNotFoundException(checkpointId, "no checkpoint '" + checkpointId
                        + "' in workspace " + id + " (checkpoints: " + new java.util.TreeSet<>(checkpoints.keySet()) + ")");
            }
            replaceRootWith(copy);
        });
    }

    /** Runs {@code action} with the workspace to itself: refused while commands or file operations run. */
    private void exclusively(String what, IoAction action) {
        if (!lock.writeLock().tryLock()) {
            throw new WorkspaceBusyException("workspace " + id + " is running commands; " + what + " when they are done");
        }
        try {
            ensureOpen();
            action.run();
        } catch (IOException e) {
            throw new DerrickException(what + " of workspace " + id + " failed: " + e.getMessage(), e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private void replaceRootWith(Path copy) throws IOException {
        Trees.delete(root);
        Trees.copy(copy, root);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        running.forEach(CommandRunner::kill);
        lock.writeLock().lock();
        try {
            destroy();
        } finally {
            lock.writeLock().unlock();
            provider.forget(this);
        }
    }

    /** Removes everything this workspace created and releases its cache entry. */
    void destroy() {
        running.forEach(CommandRunner::kill);
        try {
            Trees.delete(home);
        } catch (IOException e) {
            throw new DerrickException("removing workspace " + id + " at " + home + " failed: " + e.getMessage(), e);
        } finally {
            if (snapshot != null) {
                snapshot.close();
            }
        }
    }
}
