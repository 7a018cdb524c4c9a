package org.example.derrick.sandbox;

import dev.derrick.api.DerrickException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceBusyException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspacePaths;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Stream;

/** A directory workspace: {@code <home>/root} is the workspace, {@code <home>/clean} its post-setup snapshot. */
final class SandboxWorkspace implements Workspace {
    private static final Set<String> INHERITED = Set.of("PATH", "LANG", "LC_ALL", "TERM", "TZ");

    private final SandboxProvider provider;
    private final String id;
    private final Path home;
    private final Path root;
    private final Path clean;
    private final WorkspaceConfig config;
    private final Duration defaultTimeout;
    private final Map<String, String> providerEnv;
    private final Instant created = Instant.now();
    private final Set<Process> running = ConcurrentHashMap.newKeySet();
    /** Commands and file operations share the workspace; reset and close need it alone. */
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;

    SandboxWorkspace(SandboxProvider provider, String id, Path home, WorkspaceConfig config, Duration defaultTimeout,
                     Map<String, String> providerEnv) {
        this.provider = provider;
        this.id = id;
        this.home = home;
        this.root = home.resolve("root");
        this.clean = home.resolve("clean");
        this.config = config;
        this.defaultTimeout = defaultTimeout;
        this.providerEnv = providerEnv;
    }

    void setUp(ProgressListener progress) {
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (RepositoryConfig repo : config.repositories()) {
            progress.beginTask("clone " + repo.path(), ProgressListener.UNKNOWN);
            List<String> clone = new ArrayList<>(List.of("git", "clone", "--quiet"));
            clone.add(repo.url());
            clone.add(repo.path());
            ExecResult r = git(repo, clone, root);
            if (!r.succeeded()) {
                if (authenticationFailed(r.stderr())) {
                    throw new GitOperationException("cloning " + repo.url() + " failed: authentication failed ("
                            + (repo.auth() == null ? "the server wants a token; add 'auth'" : "the server rejected the token") + ")", true, null);
                }
                throw new SetupFailedException("cloning " + repo.url() + " into " + repo.path() + " failed: "
                        + r.stderr().strip(), r.exitCode(), r.output());
            }
            if (repo.reference() != null) {
                ExecResult checkout = git(repo, List.of("git", "checkout", "--quiet", repo.reference()), root.resolve(repo.path()));
                if (!checkout.succeeded()) {
                    throw new SetupFailedException("reference '" + repo.reference() + "' of " + repo.url()
                            + " cannot be checked out: " + checkout.stderr().strip(), checkout.exitCode(), checkout.output());
                }
            }
            progress.endTask();
            if (progress.isCancelled()) {
                throw new DerrickException("workspace creation was cancelled");
            }
        }
        if (!config.setupScript().isBlank()) {
            progress.beginTask("setup script", ProgressListener.UNKNOWN);
            ExecResult r = exec(ExecRequest.of(config.setupScript()), OutputListener.NONE);
            progress.endTask();
            if (!r.succeeded()) {
                throw new SetupFailedException("setup script " + (r.timedOut() ? "timed out" : "exited with code " + r.exitCode()),
                        r.exitCode(), r.output());
            }
        }
        try {
            copyTree(root, clean);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs git with the repository's token in the environment only (never on the command line or on disk). */
    private ExecResult git(RepositoryConfig repo, List<String> command, Path dir) {
        Map<String, String> env = baseEnv();
        env.put("GIT_TERMINAL_PROMPT", "0");
        env.put("GIT_CONFIG_NOSYSTEM", "1");
        env.put("GIT_CONFIG_GLOBAL", "/dev/null");
        // No background gc/maintenance: a detached child would hold our output pipes open.
        Map<String, String> gitConfig = new LinkedHashMap<>(Map.of("gc.auto", "0", "maintenance.auto", "false"));
        // The header is scoped to the repository's URL (git matches scheme, host, port and path prefix), so another
        // remote never gets it, and curl drops it on a redirect to another host.
        repo.authIfSet().ifPresent(auth -> {
            gitConfig.put("http." + repo.url() + ".extraHeader", "Authorization: Basic " + Base64.getEncoder()
                    .encodeToString((auth.username() + ":" + auth.resolveToken(providerEnv)).getBytes(StandardCharsets.UTF_8)));
        });
        int i = 0;
        for (Map.Entry<String, String> entry : gitConfig.entrySet()) {
            env.put("GIT_CONFIG_KEY_" + i, entry.getKey());
            env.put("GIT_CONFIG_VALUE_" + i, entry.getValue());
            i++;
        }
        env.put("GIT_CONFIG_COUNT", String.valueOf(i));
        return ProcessRunner.run(command, dir, env, defaultTimeout, OutputListener.NONE, p -> { });
    }

    private static boolean authenticationFailed(String gitStderr) {
        return gitStderr.contains("Authentication failed") || gitStderr.contains("could not read Username")
                || gitStderr.contains(" 401") || gitStderr.contains(" 403");
    }

    private Map<String, String> baseEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        for (String name : INHERITED) {
            String value = providerEnv.get(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        env.putIfAbsent("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", root.toString());
        return env;
    }

    @Override
    public String id() {
        return id;
    }

    /** The file operations, diff, fetch and reset; no background processes, checkpoints or detach. */
    @Override
    public java.util.Set<dev.derrick.api.Capability> capabilities() {
        java.util.Set<dev.derrick.api.Capability> c = java.util.EnumSet.copyOf(dev.derrick.api.Capability.FILE_OPERATIONS);
        c.addAll(java.util.EnumSet.of(dev.derrick.api.Capability.DIFF, dev.derrick.api.Capability.FETCH,
                dev.derrick.api.Capability.RESET));
        return java.util.Collections.unmodifiableSet(c);
    }

    @Override
    public WorkspaceInfo info() {
        ensureOpen();
        List<RepositoryState> repos = new ArrayList<>();
        for (RepositoryConfig repo : config.repositories()) {
            Path dir = root.resolve(repo.path());
            String commit = quiet(repo, List.of("git", "rev-parse", "HEAD"), dir);
            String branch = quiet(repo, List.of("git", "symbolic-ref", "--short", "-q", "HEAD"), dir);
            repos.add(new RepositoryState(repo.path(), repo.url(), commit, branch));
        }
        return new WorkspaceInfo(id, SandboxProviderFactory.NAME, config.name(), root.toString(), created, repos, null);
    }

    private String quiet(RepositoryConfig repo, List<String> command, Path dir) {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        ExecResult r = ProcessRunner.run(command, dir, baseEnv(), Duration.ofSeconds(30), OutputListener.NONE, p -> { });
        return r.succeeded() && !r.stdout().isBlank() ? r.stdout().strip() : null;
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
            Map<String, String> env = baseEnv();
            env.putAll(config.env());
            env.putAll(request.env());
            Duration timeout = request.timeout() == null ? defaultTimeout : request.timeout();
            List<Process> mine = new ArrayList<>();
            try {
                return ProcessRunner.run(List.of("sh", "-c", request.command()), dir, env, timeout, listener, p -> {
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
                deleteTree(p);
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

    @Override
    public List<RepositoryFetch> fetch() {
        lock.readLock().lock();
        try {
            ensureOpen();
            List<RepositoryFetch> results = new ArrayList<>();
            for (RepositoryConfig repo : config.repositories()) {
                results.add(fetch(repo));
            }
            return results;
        } finally {
            lock.readLock().unlock();
        }
    }

    private RepositoryFetch fetch(RepositoryConfig repo) {
        Path dir = root.resolve(repo.path());
        String before = quiet(repo, List.of("git", "rev-parse", "HEAD"), dir);
        ExecResult fetched = git(repo, List.of("git", "fetch", "--quiet", "origin"), dir);
        if (!fetched.succeeded()) {
            throw new GitOperationException("fetching " + repo.url() + " failed: " + fetched.stderr().strip(),
                    authenticationFailed(fetched.stderr()), null);
        }
        String branch = quiet(repo, List.of("git", "symbolic-ref", "--short", "-q", "HEAD"), dir);
        if (branch == null) {
            return new RepositoryFetch(repo.path(), before, before, false, "detached");
        }
        String upstream = quiet(repo, List.of("git", "rev-parse", "origin/" + branch), dir);
        if (upstream == null || upstream.equals(before)) {
            return new RepositoryFetch(repo.path(), before, before, false, "up-to-date");
        }
        String status = quiet(repo, List.of("git", "status", "--porcelain"), dir);
        if (status != null) {
            return new RepositoryFetch(repo.path(), before, before, false, "dirty");
        }
        ExecResult merge = git(repo, List.of("git", "merge", "--ff-only", "--quiet", "origin/" + branch), dir);
        if (!merge.succeeded()) {
            return new RepositoryFetch(repo.path(), before, before, false, "diverged");
        }
        String after = quiet(repo, List.of("git", "rev-parse", "HEAD"), dir);
        return new RepositoryFetch(repo.path(), before, after, true, "fast-forwarded");
    }

    @Override
    public void reset() {
        if (!lock.writeLock().tryLock()) {
            throw new WorkspaceBusyException("workspace " + id + " is running commands; reset when they are done");
        }
        try {
            ensureOpen();
            deleteTree(root);
            copyTree(clean, root);
        } catch (IOException e) {
            throw new DerrickException("resetting workspace " + id + " failed: " + e.getMessage(), e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        running.forEach(ProcessRunner::kill);
        lock.writeLock().lock();
        try {
            destroy();
        } finally {
            lock.writeLock().unlock();
            provider.forget(this);
        }
    }

    /** Removes everything this workspace created. */
    void destroy() {
        running.forEach(ProcessRunner::kill);
        try {
            deleteTree(home);
        } catch (IOException e) {
            throw new DerrickException("removing workspace " + id + " at " + home + " failed: " + e.getMessage(), e);
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    Files.createSymbolicLink(target, Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                p.toFile().setWritable(true);
                Files.deleteIfExists(p);
            }
        }
    }
}
