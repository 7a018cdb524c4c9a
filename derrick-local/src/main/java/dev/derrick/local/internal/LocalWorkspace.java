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
import dev.derrick.api.WorkspaceProcess;
import dev.derrick.core.Redactor;
import dev.derrick.core.exec.CommandEnvironment;
import dev.derrick.core.exec.ProcessRunner;
import dev.derrick.core.exec.ProcessSpec;
import dev.derrick.core.process.BackgroundProcess;
import dev.derrick.core.process.ProcessTable;
import dev.derrick.local.internal.cache.LocalInstance;
import dev.derrick.local.internal.files.HostFiles;
import dev.derrick.local.internal.files.SandboxFiles;
import dev.derrick.local.internal.files.WorkspaceFiles;
import dev.derrick.local.internal.sandbox.Launch;
import dev.derrick.local.internal.sandbox.Sandbox;
import dev.derrick.local.internal.sandbox.SandboxExtension;
import dev.derrick.local.internal.sandbox.SandboxRunner;
import dev.derrick.local.internal.sandbox.SandboxSupport;
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
    private final ProcessRunner runner;
    private final SandboxSupport support;
    private final SandboxExtension.Factory extensions;
    private final WorkspaceFiles files;
    private final Instant created = Instant.now();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ProcessTable processes = new ProcessTable();
    private volatile List<RepositoryState> repositories = List.of();
    private volatile LocalInstance cached;
    private volatile boolean detached;
    private volatile Sandbox sandbox;

    /**
     * @param support    the sandbox machinery, or {@code null} for isolation {@code none}
     * @param extensions what the network/limits support adds to each of this workspace's sandboxes
     */
    public LocalWorkspace(String id, WorkspaceConfig config, Path root, CommandEnvironment environment, long maxOutputBytes,
                          Duration defaultTimeout, Redactor redactor, Consumer<LocalWorkspace> onClose,
                          Consumer<LocalWorkspace> onDetach, SandboxSupport support, SandboxExtension.Factory extensions) {
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
        this.support = support;
        this.extensions = extensions == null ? SandboxExtension.Factory.NONE : extensions;
        this.runner = support == null ? new ProcessRunner() : null;
        this.files = support == null ? new HostFiles(id, this.root)
                : new SandboxFiles(id, this::runningSandbox, environment.base()); // the helpers need no config env
    }

    /**
     * Starts the workspace's sandbox once its directory holds its clean state (isolation {@code sandbox}; a no-op
     * for {@code none}).
     */
    public synchronized void startSandbox() {
        if (support != null && sandbox == null) {
            sandbox = Sandbox.start(support, id, root, Sandbox.Phase.COMMANDS, extensions.create(id, config, Sandbox.Phase.COMMANDS));
        }
    }

    private Sandbox runningSandbox() {
        Sandbox s = sandbox;
        if (s == null) {
            ensureOpen();
            throw new DerrickException("workspace " + id + " has no running sandbox");
        }
        return s;
    }

    /**
     * Runs {@code work} with every process of the workspace ended and none running, then starts a fresh sandbox
     * (reset and restore rewrite or remount the directory, which a running sandbox would not see).
     */
    private void withSandboxStopped(Runnable work) {
        processes.killAll(); // recorded as killed, with their output, before their sandbox goes
        Sandbox s = sandbox;
        if (s == null) {
            work.run();
            return;
        }
        synchronized (this) {
            s.close();
            sandbox = null;
            try {
                work.run();
            } finally {
                if (!closed.get()) {
                    startSandbox();
                }
            }
        }
    }

    /** Runs {@code work} with every process of the workspace frozen (where cgroups allow), so nothing changes meanwhile. */
    private <T> T withSandboxFrozen(java.util.function.Supplier<T> work) {
        Sandbox s = sandbox;
        boolean frozen = s != null && s.freeze(true);
        try {
            return work.get();
        } finally {
            if (frozen) {
                s.freeze(false);
            }
        }
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

    /**
     * Everything but what needs the provisioning cache (fetch, reset, checkpoints), which this workspace has when it
     * was made from a cache entry.
     */
    @Override
    public java.util.Set<dev.derrick.api.Capability> capabilities() {
        java.util.Set<dev.derrick.api.Capability> c = java.util.EnumSet.allOf(dev.derrick.api.Capability.class);
        if (cached == null) {
            c.removeAll(java.util.EnumSet.of(dev.derrick.api.Capability.FETCH, dev.derrick.api.Capability.RESET,
                    dev.derrick.api.Capability.CHECKPOINT, dev.derrick.api.Capability.FORK));
        }
        return java.util.Collections.unmodifiableSet(c);
    }

    @Override
    public WorkspaceInfo info() {
        ensureOpen();
        LocalInstance c = cached;
        return new WorkspaceInfo(id, "local", config.name(), root.toString(), created,
                c == null ? repositories : c.repositories(), c == null ? null : c.cacheEntry().id(), isolation());
    }

    /**
     * stat, recursive listing, delete, move and mkdirs run as small scripts through {@link #exec}, so they see
     * exactly what commands see (inside the sandbox when there is one) and run with their rights; paths are relative
     * to the root (the working directory), and a parent that resolves through a link out of the root is refused.
     */
    private dev.derrick.core.files.ShellFiles shellFiles() {
        return new dev.derrick.core.files.ShellFiles((script, env) -> exec(ExecRequest.of(script).withEnv(env)
                .withTimeout(java.time.Duration.ofMinutes(2))), LocalWorkspace::shown, id,
                // a sandbox is confined by construction (its / is the root); unsandboxed, links out are refused
                support != null ? "" : dev.derrick.core.files.ShellFiles.CONFINE_TO_WORKING_DIRECTORY);
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
        return shellFiles().list(scriptPath(path, "path"), maxDepth, maxEntries);
    }

    @Override
    public java.util.Optional<dev.derrick.api.FileStat> stat(String path) {
        ensureOpen();
        return shellFiles().stat(scriptPath(path, "path"));
    }

    @Override
    public void delete(String path, boolean recursive) {
        ensureOpen();
        String p = scriptPath(path, "path");
        if (p.equals(".")) {
            throw new dev.derrick.api.InvalidConfigException("cannot delete '" + path + "': it is the workspace root");
        }
        shellFiles().delete(p, recursive);
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
        shellFiles().move(a, b);
    }

    @Override
    public void mkdirs(String path) {
        ensureOpen();
        shellFiles().mkdirs(scriptPath(path, "path"));
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
        if (support == null) {
            return c.fetch(null);
        }
        return withSandboxFrozen(() -> {
            for (RepositoryState repo : c.repositories()) {
                Ownership.refuseLinksInGitDir(root, repo.path(), id);
            }
            List<RepositoryFetch> fetched = c.fetch(null);
            for (RepositoryState repo : c.repositories()) {
                Ownership.give(support, root.resolve(repo.path()));
            }
            return fetched;
        });
    }

    @Override
    public void reset() {
        ensureOpen();
        LocalInstance c = cached;
        if (c == null) {
            Workspace.super.reset();
            return;
        }
        withSandboxStopped(c::reset);
    }

    /** The workspace config. */
    public WorkspaceConfig config() {
        return config;
    }

    /** Makes the new workspaces of a {@link #fork}: the provider's, which registers them. */
    public interface Forker {
        List<Workspace> fork(LocalWorkspace source, int count);
    }

    private volatile Forker forker;
    /** Copies and sandbox starts of forks, a few at a time (each is a cp process and a mount, or a bwrap start). */
    public static final java.util.concurrent.ExecutorService FORKS = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "derrick-local-fork");
        t.setDaemon(true);
        return t;
    });

    /** Called by the provider once the workspace is ready. */
    public void forkWith(Forker forker) {
        this.forker = forker;
    }

    @Override
    public List<Workspace> fork(int count) {
        Workspace.checkForkCount(count);
        ensureOpen();
        Forker f = forker;
        if (cached == null || f == null) {
            throw new dev.derrick.api.OperationNotSupportedException("fork needs the provisioning cache; it is off"
                    + " (option 'cache')");
        }
        return f.fork(this, count);
    }

    /**
     * The cache instances of a fork, one per root, copied with this workspace's processes frozen (where cgroups
     * allow), so every copy is the same state. On failure the ones made are closed.
     */
    public List<LocalInstance> forkInstances(List<Path> roots, List<dev.derrick.local.internal.cache.SetupRunner> runners) {
        ensureOpen();
        LocalInstance c = cached;
        return withSandboxFrozen(() -> {
            List<LocalInstance> made = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            List<java.util.concurrent.CompletableFuture<LocalInstance>> copies = new java.util.ArrayList<>();
            for (int i = 0; i < roots.size(); i++) {
                Path r = roots.get(i);
                dev.derrick.local.internal.cache.SetupRunner runner = runners.get(i);
                copies.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    LocalInstance copy = c.fork(r, runner);
                    made.add(copy);
                    return copy;
                }, FORKS));
            }
            try {
                return dev.derrick.core.Futures.joinAll(copies);
            } catch (RuntimeException e) {
                new java.util.ArrayList<>(made).forEach(LocalInstance::close);
                throw e;
            }
        });
    }

    @Override
    public String checkpoint() {
        ensureOpen();
        LocalInstance c = cached;
        return c == null ? Workspace.super.checkpoint() : withSandboxFrozen(c::checkpoint);
    }

    @Override
    public void restore(String checkpointId) {
        ensureOpen();
        LocalInstance c = cached;
        if (c == null) {
            Workspace.super.restore(checkpointId);
            return;
        }
        withSandboxStopped(() -> c.restore(checkpointId));
    }

    /** Runs the setup script in the root with the config's env (in a sandbox of the setup phase). */
    public ExecResult runSetup(String script, Duration timeout) {
        if (support == null) {
            return runner.run(new ProcessSpec(script, root, environment.build(config.env(), null), timeout, maxOutputBytes));
        }
        return runSandboxed(support, extensions, id, config, root, script, environment.build(config.env(), null), timeout,
                maxOutputBytes);
    }

    /**
     * Runs a script in a throw-away sandbox of the setup phase on {@code dir} (the cache's snapshot or a new
     * workspace), after giving the directory to the sandbox user.
     */
    public static ExecResult runSandboxed(SandboxSupport support, SandboxExtension.Factory extensions, String id,
                                          WorkspaceConfig config, Path dir,
                                          String script, java.util.Map<String, String> env, Duration timeout, long maxOutputBytes) {
        return runSandboxed(support, extensions, id, config, dir, script, env, timeout, maxOutputBytes, Sandbox.Phase.SETUP);
    }

    /** @param phase whose network and limits the script gets (the update script runs in the commands phase) */
    public static ExecResult runSandboxed(SandboxSupport support, SandboxExtension.Factory extensions, String id,
                                          WorkspaceConfig config, Path dir, String script, java.util.Map<String, String> env,
                                          Duration timeout, long maxOutputBytes, Sandbox.Phase phase) {
        Ownership.give(support, dir);
        String name = id + "-setup-" + java.util.HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(4)
                .putInt(java.util.concurrent.ThreadLocalRandom.current().nextInt()).array());
        SandboxExtension.Factory f = extensions == null ? SandboxExtension.Factory.NONE : extensions;
        try (Sandbox setup = Sandbox.start(support, name, dir, phase, f.create(id, config, phase))) {
            return SandboxRunner.run(setup, Launch.of(script, env), timeout, maxOutputBytes, OutputListener.NONE);
        }
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        Objects.requireNonNull(request, "request");
        ensureOpen();
        Duration timeout = request.timeout() != null ? request.timeout() : defaultTimeout;
        if (LOG.isDebugEnabled()) {
            LOG.debug("workspace {}: exec {}", id, redactor.redact(abbreviate(request.command())));
        }
        ExecResult result;
        if (support == null) {
            Path dir = hostWorkingDir(request.workingDir());
            result = runner.run(new ProcessSpec(request.command(), dir,
                    environment.build(config.env(), request.env()), timeout, maxOutputBytes), listener);
        } else {
            String dir = SandboxFiles.sandboxPath(request.workingDir(), "working directory");
            Boolean isDir = checkSandboxWorkingDir(request.workingDir(), dir);
            Launch launch = Launch.of(request.command(), environment.build(config.env(), request.env())).inDirectory(dir);
            result = SandboxRunner.run(runningSandbox(), launch, timeout, maxOutputBytes, listener);
            if (isDir == null && result.exitCode() == 125 && result.stderr().contains("cd: ")) {
                throw missingDirectory(request.workingDir(), true);
            }
        }
        if (result.timedOut()) {
            LOG.info("workspace {}: command timed out after {} ms and was killed", id, result.elapsed().toMillis());
        }
        return result;
    }

    /**
     * Starts a command in the background: in the workspace's sandbox (its own cgroup, so its timeout and
     * {@link WorkspaceProcess#kill()} end everything it started), or with isolation {@code none} as a session of its
     * own on the host. Its output is kept up to the provider's cap (the most recent part).
     */
    @Override
    public WorkspaceProcess start(ExecRequest request) {
        Objects.requireNonNull(request, "request");
        ensureOpen();
        processes.checkRoom(id);
        if (LOG.isDebugEnabled()) {
            LOG.debug("workspace {}: start {}", id, redactor.redact(abbreviate(request.command())));
        }
        java.util.Map<String, String> env = environment.build(config.env(), request.env());
        LocalBackground.Raw raw;
        if (support == null) {
            Path dir = hostWorkingDir(request.workingDir());
            raw = LocalBackground.of(runner.start(new ProcessSpec(request.command(), dir, env, null, maxOutputBytes)));
        } else {
            String dir = SandboxFiles.sandboxPath(request.workingDir(), "working directory");
            checkSandboxWorkingDir(request.workingDir(), dir);
            // (a directory reached through links is checked by the shell's cd: exit 125 and its message)
            raw = LocalBackground.of(runningSandbox().start(Launch.of(request.command(), env).inDirectory(dir).withStdinOpen()));
        }
        BackgroundProcess p = LocalBackground.start(processes.nextId(), request.command(), raw, request.timeout(),
                maxOutputBytes);
        processes.add(p); // kills it at once when the workspace closed meanwhile
        return p;
    }

    @Override
    public List<WorkspaceProcess> processes() {
        return processes.list();
    }

    @Override
    public java.util.Optional<WorkspaceProcess> process(String processId) {
        return processes.find(processId);
    }

    /** The host directory a command of an unsandboxed workspace runs in; refuses one that is missing or a file. */
    private Path hostWorkingDir(String given) {
        Path dir = ((HostFiles) files).resolve(given, "working directory");
        if (!Files.isDirectory(dir)) {
            throw missingDirectory(given, Files.exists(dir));
        }
        return dir;
    }

    /**
     * Refuses a sandbox working directory the host can tell is missing or a file; {@code null} when only the sandbox
     * can tell (a link or one of its mounts on the way: the shell's {@code cd} then says so).
     */
    private Boolean checkSandboxWorkingDir(String given, String dir) {
        Boolean isDir = Ownership.isDirectoryNoLinks(root, dir);
        if (isDir != null && !isDir) {
            throw missingDirectory(given, Files.exists(root.resolve(dir.substring(1)), LinkOption.NOFOLLOW_LINKS));
        }
        return isDir;
    }

    private InvalidConfigException missingDirectory(String given, boolean exists) {
        return new InvalidConfigException("working directory '" + given + "' "
                + (exists ? "is not a directory" : "does not exist") + " in workspace " + id);
    }

    @Override
    public byte[] readFile(String path) {
        ensureOpen();
        return files.read(path);
    }

    @Override
    public void writeFile(String path, byte[] content) {
        Objects.requireNonNull(content, "content");
        ensureOpen();
        files.write(path, content);
    }

    @Override
    public List<FileEntry> listFiles(String path) {
        ensureOpen();
        return files.list(path);
    }

    /** The file operations of this workspace (inside its sandbox, or host-side with isolation {@code none}). */
    public WorkspaceFiles files() {
        return files;
    }

    /** The sandbox the workspace's commands run in, or {@code null} with isolation {@code none} (or before it started). */
    public Sandbox sandbox() {
        return sandbox;
    }

    /**
     * {@code none}, or {@code sandbox} followed by what its sandboxes get, e.g. {@code sandbox (network setup on
     * (slirp4netns …), commands off (…); limits memory=512m: …)}.
     */
    public String isolation() {
        if (support == null) {
            return "none";
        }
        String details = extensions.describe(config);
        return details.isEmpty() ? "sandbox" : "sandbox (" + details + ")";
    }

    /** Kills the workspace's processes and removes its directory. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LOG.info("closing workspace {}", id);
        endProcesses();
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
        endProcesses();
        LocalInstance c = cached;
        if (c != null) {
            c.detach();
        }
        onDetach.accept(this);
        LOG.info("workspace {} detached: {} stays until a local provider starts on its root after this JVM has ended",
                id, root);
    }

    private void endProcesses() {
        processes.close(); // each recorded as killed, with its output
        if (runner != null) {
            runner.close();
        }
        Sandbox s;
        synchronized (this) {
            s = sandbox;
            sandbox = null;
        }
        if (s != null) {
            s.close();
        }
    }

    /** Whether {@link #detach()} released it. */
    public boolean isDetached() {
        return detached;
    }

    public boolean isClosed() {
        return closed.get();
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
