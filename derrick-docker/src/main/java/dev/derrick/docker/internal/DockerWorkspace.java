package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.OutputListener;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspacePaths;
import dev.derrick.api.ChangeKind;
import dev.derrick.api.ChangedFile;
import dev.derrick.api.FileListing;
import dev.derrick.api.FileStat;
import dev.derrick.api.WorkspaceDiff;
import dev.derrick.api.WorkspaceProcess;
import dev.derrick.api.spi.GitDiffs;
import dev.derrick.core.process.ProcessTable;
import com.github.dockerjava.api.model.ChangeLog;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/** A workspace that is one container. Thread-safe: commands and file operations may run concurrently. */
public final class DockerWorkspace implements Workspace {
    private static final Logger LOG = LoggerFactory.getLogger(DockerWorkspace.class);
    private static final String LIST_SCRIPT = ""
            + "set --\n"
            + "for f in * .*; do\n"
            + "  case \"$f\" in .|..) continue;; esac\n"
            + "  if [ -e \"$f\" ] || [ -L \"$f\" ]; then set -- \"$@\" \"$f\"; fi\n"
            + "done\n"
            + "[ $# -eq 0 ] && exit 0\n"
            + "exec stat -c '%F|%s|%n' -- \"$@\"\n";

    private final String id;
    private volatile String containerId;
    private final DockerClient client;
    private final DockerSettings settings;
    private final WorkspaceConfig config;
    private volatile ContainerExec exec;
    private volatile CachedState cached;
    private final Instant created = Instant.now();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Consumer<DockerWorkspace> onClose;
    private final Consumer<DockerWorkspace> onDetach;
    private volatile boolean detached;
    private final String shell = ContainerExec.AUTO_SHELL;
    private volatile List<RepositoryState> repositories = List.of();
    private final ProcessTable processes = new ProcessTable();
    private volatile List<RepositoryState> cleanRepositories;

    public DockerWorkspace(String id, String containerId, DockerClient client, DockerSettings settings,
                           WorkspaceConfig config, Consumer<DockerWorkspace> onClose, Consumer<DockerWorkspace> onDetach) {
        this.id = id;
        this.containerId = containerId;
        this.client = client;
        this.settings = settings;
        this.config = config;
        this.exec = new ContainerExec(client, containerId);
        this.onClose = onClose;
        this.onDetach = onDetach;
    }

    @Override
    public String id() {
        return id;
    }

    public String containerId() {
        return containerId;
    }

    void repositories(List<RepositoryState> states) {
        this.repositories = List.copyOf(states);
        if (cleanRepositories == null) {
            cleanRepositories = this.repositories; // the first states a workspace gets are its clean state's
        }
    }

    /** The repository states of the clean image (what a reset returns to, before re-applying fetches). */
    List<RepositoryState> repositoriesAtClean() {
        List<RepositoryState> clean = cleanRepositories;
        return clean != null ? clean : repositories;
    }

    /** Records the current repository states as the clean image's. */
    void markRepositoriesClean() {
        this.cleanRepositories = repositories;
    }

    List<RepositoryState> repositories() {
        return repositories;
    }

    WorkspaceConfig config() {
        return config;
    }

    /** Attaches the cache state (clean image, checkpoints, lease) that fetch, reset and checkpoints work with. */
    void cached(CachedState state) {
        this.cached = state;
    }

    CachedState cached() {
        return cached;
    }

    /** Makes the new workspaces of a {@link #fork}: the backend's. */
    interface Forker {
        List<Workspace> fork(DockerWorkspace source, int count);
    }

    private volatile Forker forker;

    void forkWith(Forker forker) {
        this.forker = forker;
    }

    /** n containers of one commit of this one (not paused: see DockerCache#commit), each with this clean state. */
    @Override
    public List<Workspace> fork(int count) {
        Workspace.checkForkCount(count);
        ensureOpen();
        CachedState state = cached;
        Forker f = forker;
        if (state == null || !state.canFork() || f == null) {
            throw new dev.derrick.api.OperationNotSupportedException("fork needs the provisioning cache; it is off (option 'cache')");
        }
        try {
            return f.fork(this, count);
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    /** Points this workspace at a new container (same id and labels) and removes the old one. */
    void swapContainer(String newContainerId) {
        String old = swapContainer(newContainerId, true);
        assert old == null;
    }

    /**
     * Points this workspace at a new container; the old one is removed here ({@code removeOld}) or returned for the
     * caller to remove (in the background: a reset).
     */
    String swapContainer(String newContainerId, boolean removeOld) {
        String old = containerId;
        this.containerId = newContainerId;
        this.exec = new ContainerExec(client, newContainerId);
        String leftover = null;
        if (!old.equals(newContainerId)) {
            if (removeOld) {
                removeContainer(client, old);
            } else {
                leftover = old;
            }
        }
        if (closed.get()) {
            removeContainer(client, newContainerId);
        }
        return leftover;
    }

    @Override
    public WorkspaceInfo info() {
        ensureOpen();
        CachedState c = cached;
        List<RepositoryState> named = repositories.stream().map(r -> r.withName(config.repositories().stream()
                .filter(rc -> rc.path().equals(r.path())).findFirst().map(dev.derrick.api.RepositoryConfig::name)
                .orElse(null))).toList();
        return new WorkspaceInfo(id, "docker", config.name(), settings.root(), created, named,
                c == null ? null : c.cacheEntryId(), "container");
    }

    /** Whether git runs in the container; asked once ({@code null}: not yet). */
    private volatile Boolean hasGit;

    /**
     * File operations, background processes, checkpoints and detach always; reset once the workspace has a clean
     * image (the provisioning cache is on, or its phases' networks differ); fetch and diff when the image has git
     * (or there is no repository to run it on).
     */
    @Override
    public java.util.Set<dev.derrick.api.Capability> capabilities() {
        java.util.Set<dev.derrick.api.Capability> c = java.util.EnumSet.allOf(dev.derrick.api.Capability.class);
        CachedState state = cached;
        if (state == null || !state.canFork() || forker == null) {
            c.remove(dev.derrick.api.Capability.FORK);
        }
        if (state == null || !state.canReset()) {
            c.remove(dev.derrick.api.Capability.RESET);
        }
        if (state == null) {
            c.remove(dev.derrick.api.Capability.FETCH);
            c.remove(dev.derrick.api.Capability.CHECKPOINT);
        }
        if (!config.repositories().isEmpty() && !hasGit()) {
            c.remove(dev.derrick.api.Capability.FETCH);
            c.remove(dev.derrick.api.Capability.DIFF);
        }
        return java.util.Collections.unmodifiableSet(c);
    }

    private boolean hasGit() {
        Boolean known = hasGit;
        if (known == null) {
            ensureOpen();
            ExecResult r = exec.runInternal(List.of("/bin/sh", "-c", "command -v git"), java.time.Duration.ofSeconds(30));
            known = r.exitCode() == 0;
            hasGit = known;
        }
        return known;
    }

    private List<dev.derrick.api.RepositoryFetch> fetchOnEngine() {
        ensureOpen();
        CachedState c = cached;
        if (c == null) {
            return Workspace.super.fetch();
        }
        return c.fetch(this, dev.derrick.api.ProgressListener.NONE);
    }

    private void resetOnEngine() {
        ensureOpen();
        CachedState c = cached;
        if (c == null) {
            Workspace.super.reset();
            return;
        }
        processes.killAll();
        c.reset(this);
    }

    private String checkpointOnEngine() {
        ensureOpen();
        CachedState c = cached;
        if (c == null) {
            return Workspace.super.checkpoint();
        }
        return c.checkpoint(this);
    }

    private void restoreOnEngine(String checkpointId) {
        ensureOpen();
        CachedState c = cached;
        if (c == null) {
            Workspace.super.restore(checkpointId);
            return;
        }
        c.restore(this, checkpointId);
    }

    private ExecResult execOnEngine(ExecRequest request, OutputListener listener) {
        ensureOpen();
        Map<String, String> env = new LinkedHashMap<>(config.env());
        env.putAll(request.env());
        String dir = request.workingDir() == null ? settings.root() : resolve(request.workingDir(), "working directory");
        Duration timeout = request.timeout() == null ? settings.execTimeout() : request.timeout();
        try {
            ExecResult result = exec.run(shell, request.command(), dir, env, timeout, settings.maxOutputBytes(), listener);
            if (closed.get() && !result.timedOut() && (result.exitCode() == 137 || result.exitCode() == -1)) {
                // Killed because the container was removed under it: say so rather than report a crash.
                throw new WorkspaceNotFoundException(id, "workspace '" + id + "' was closed while the command ran");
            }
            return result;
        } catch (DockerException e) {
            throw failure("running a command", e);
        } catch (DerrickException e) {
            if (closed.get() && !(e instanceof dev.derrick.api.InvalidConfigException)) {
                // The container was removed under a running command.
                throw new WorkspaceNotFoundException(id, "workspace '" + id + "' was closed while the command ran");
            }
            throw e;
        }
    }

    /** Runs a script the way setup does: config env, root as working directory. */
    ExecResult runScript(String script, Duration timeout) {
        return exec.run(shell, script, settings.root(), config.env(), timeout, settings.maxOutputBytes(),
                OutputListener.NONE);
    }

    ContainerExec containerExec() {
        return exec;
    }

    private byte[] readFileOnEngine(String path) {
        ensureOpen();
        String abs = resolve(path, "path");
        int emptyAnswers = 0;
        for (int hops = 0; hops < 16; hops++) {
            try (InputStream in = client.copyArchiveFromContainerCmd(containerId, abs).exec();
                 TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
                TarArchiveEntry entry = tar.getNextEntry();
                if (entry == null) {
                    // The engine answers 200 before its archiver runs; an archiver that failed (seen under heavy load)
                    // leaves an empty body. The path exists (else 404): ask again, a few times, then say so.
                    if (++emptyAnswers < 4) {
                        LOG.warn("workspace {}: the engine returned an empty archive for '{}'; asking again", id, path);
                        sleepQuietly(100L * emptyAnswers);
                        hops--;
                        continue;
                    }
                    throw new DerrickException("cannot read '" + path + "': the engine returned an empty archive "
                            + emptyAnswers + " times");
                }
                if (entry.isDirectory()) {
                    throw new InvalidConfigException("cannot read '" + path + "': it is a directory");
                }
                if (entry.isSymbolicLink()) {
                    String target = entry.getLinkName();
                    String parent = abs.substring(0, abs.lastIndexOf('/') + 1);
                    abs = containerPath(target.startsWith("/") ? target : parent + target);
                    continue;
                }
                return tar.readAllBytes();
            } catch (NotFoundException e) {
                throw new WorkspaceFileNotFoundException(path, "no such file '" + path + "' in workspace " + id());
            } catch (IOException e) {
                throw new DerrickException("cannot read '" + path + "': " + e.getMessage(), e);
            } catch (DockerException e) {
                throw failure("reading '" + path + "'", e);
            }
        }
        throw new DerrickException("cannot read '" + path + "': too many levels of symbolic links");
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted");
        }
    }

    private void writeFileOnEngine(String path, byte[] content) {
        ensureOpen();
        String abs = resolve(path, "path");
        if (abs.equals("/")) {
            throw new InvalidConfigException("cannot write '" + path + "': it is a directory");
        }
        byte[] tar = Tars.singleFile(abs.substring(1), content, 0644);
        try {
            client.copyArchiveToContainerCmd(containerId)
                    .withRemotePath("/")
                    .withNoOverwriteDirNonDir(true)
                    .withTarInputStream(new ByteArrayInputStream(tar))
                    .exec();
        } catch (DockerException e) {
            String message = e.getMessage() == null ? "" : e.getMessage();
            if (message.contains("cannot overwrite") || message.contains("directory")) {
                throw new InvalidConfigException("cannot write '" + path + "': " + firstLine(message));
            }
            throw failure("writing '" + path + "'", e);
        }
    }

    /** Uploads a tar stream to {@code /} of the container (entries named from the container root). */
    void upload(InputStream tar) {
        client.copyArchiveToContainerCmd(containerId).withRemotePath("/").withTarInputStream(tar).exec();
    }

    private List<FileEntry> listFilesOnEngine(String path) {
        ensureOpen();
        String abs = resolve(path, "path");
        ExecResult r;
        try {
            r = exec.run("/bin/sh", LIST_SCRIPT, abs, Map.of(), Duration.ofMinutes(2), 64L << 20,
                    OutputListener.NONE);
        } catch (dev.derrick.api.InvalidConfigException e) {
            throw new WorkspaceFileNotFoundException(path, "no such directory '" + path + "' in workspace " + id());
        } catch (DockerException e) {
            throw failure("listing '" + path + "'", e);
        }
        // The exec wrapper changes into abs first; the script lists ".".
        if (r.exitCode() != 0) {
            throw new DerrickException("cannot list '" + path + "': " + firstLine(r.stderr().isBlank() ? "exit code "
                    + r.exitCode() : r.stderr()));
        }
        List<FileEntry> entries = new ArrayList<>();
        String relDir = relative(abs);
        for (String line : r.stdout().split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int first = line.indexOf('|');
            int second = line.indexOf('|', first + 1);
            if (first < 0 || second < 0) {
                continue;
            }
            String type = line.substring(0, first);
            long size;
            try {
                size = Long.parseLong(line.substring(first + 1, second));
            } catch (NumberFormatException e) {
                size = 0;
            }
            String name = line.substring(second + 1);
            boolean directory = type.equals("directory");
            String rel = relDir.isEmpty() ? name : relDir.endsWith("/") ? relDir + name : relDir + "/" + name;
            entries.add(new FileEntry(name, rel, directory, directory ? 0 : size));
        }
        entries.sort(Comparator.comparing(FileEntry::name));
        return entries;
    }

    private dev.derrick.core.files.ShellFiles files() {
        return new dev.derrick.core.files.ShellFiles((script, env) -> {
            try {
                return exec.run("/bin/sh", script, "/", env, Duration.ofMinutes(2), 64L << 20, OutputListener.NONE);
            } catch (DockerException e) {
                throw failure("a file operation", e);
            }
        }, this::relative, id);
    }

    @Override
    public FileListing listFiles(String path, int maxDepth, int maxEntries) {
        ensureOpen();
        return files().list(resolve(path, "path"), maxDepth, maxEntries);
    }

    @Override
    public java.util.Optional<FileStat> stat(String path) {
        ensureOpen();
        return files().stat(resolve(path, "path"));
    }

    @Override
    public void delete(String path, boolean recursive) {
        ensureOpen();
        String abs = resolve(path, "path");
        if (abs.equals("/") || abs.equals(settings.root())) {
            throw new InvalidConfigException("cannot delete '" + path + "': it is the workspace root");
        }
        files().delete(abs, recursive);
    }

    @Override
    public void move(String from, String to) {
        ensureOpen();
        String a = resolve(from, "from");
        String b = resolve(to, "to");
        if (a.equals("/") || b.equals("/") || a.equals(settings.root()) || b.equals(settings.root())) {
            throw new InvalidConfigException("cannot move '" + from + "' to '" + to + "': the workspace root cannot"
                    + " be moved or replaced");
        }
        files().move(a, b);
    }

    @Override
    public void mkdirs(String path) {
        ensureOpen();
        files().mkdirs(resolve(path, "path"));
    }

    /**
     * Per repository the git diff against the clean commit (git runs in the container: the image needs git), and
     * outside the repositories what {@code docker diff} reports against the image the container was made from
     * (the clean state; after a {@code restore}, the checkpoint's image). Directories that only hold changes, and
     * derrick's own scratch files, are left out.
     */
    @Override
    public WorkspaceDiff diff() {
        ensureOpen();
        if (!config.repositories().isEmpty() && !hasGit()) {
            throw new dev.derrick.api.OperationNotSupportedException("diff in a docker workspace needs git in the image;"
                    + " image of '" + config.name() + "' has none");
        }
        List<RepositoryState> repos = repositories;
        List<dev.derrick.api.RepositoryDiff> diffs = GitDiffs.repositories(this, repos);
        List<ChangeLog> changes;
        try {
            changes = client.containerDiffCmd(containerId).exec();
        } catch (DockerException e) {
            throw failure("diffing", e);
        }
        List<String> repoPaths = new ArrayList<>();
        for (RepositoryState r : repos) {
            repoPaths.add(resolve(r.path(), "repository path"));
        }
        List<String> all = new ArrayList<>();
        if (changes != null) {
            for (ChangeLog c : changes) {
                all.add(c.getPath());
            }
        }
        List<ChangedFile> outside = new ArrayList<>();
        if (changes != null) {
            for (ChangeLog c : changes) {
                String p = c.getPath();
                if (p == null || under(p, repoPaths) || p.startsWith("/tmp/.derrick-")) {
                    continue;
                }
                ChangeKind kind = c.getKind() == null ? ChangeKind.MODIFIED : switch (c.getKind()) {
                    case 1 -> ChangeKind.ADDED;
                    case 2 -> ChangeKind.DELETED;
                    default -> ChangeKind.MODIFIED;
                };
                if (kind == ChangeKind.MODIFIED && all.stream().anyMatch(o -> o.startsWith(p.equals("/") ? "/" : p + "/")
                        && !o.equals(p))) {
                    continue; // a directory that changed because something in it did
                }
                if (repoPaths.stream().anyMatch(r -> r.startsWith(p + "/"))) {
                    continue; // a parent of a repository
                }
                outside.add(new ChangedFile(relative(p), kind, false));
            }
        }
        outside.sort(java.util.Comparator.comparing(ChangedFile::path));
        return new WorkspaceDiff(diffs, outside, true);
    }

    private static boolean under(String p, List<String> roots) {
        for (String r : roots) {
            if (p.equals(r) || p.startsWith(r.equals("/") ? "/" : r + "/")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public WorkspaceProcess start(ExecRequest request) {
        ensureOpen();
        processes.checkRoom(id);
        Map<String, String> env = new LinkedHashMap<>(config.env());
        env.putAll(request.env());
        String dir = request.workingDir() == null ? settings.root() : resolve(request.workingDir(), "working directory");
        if (request.workingDir() != null && stat(request.workingDir()).map(s -> !s.isDirectory()).orElse(true)) {
            throw new InvalidConfigException("working directory '" + request.workingDir()
                    + "' does not exist in the workspace");
        }
        try {
            dev.derrick.core.process.BackgroundProcess p = exec.start(processes.nextId(), shell, request.command(), dir,
                    env, request.timeout(), settings.maxOutputBytes());
            processes.add(p);
            return p;
        } catch (DockerException e) {
            throw failure("starting a background process", e);
        }
    }

    @Override
    public List<WorkspaceProcess> processes() {
        return processes.list();
    }

    @Override
    public java.util.Optional<WorkspaceProcess> process(String processId) {
        return processes.find(processId);
    }

    /**
     * A link target as the kernel resolves it inside the container: {@code .} and {@code ..} collapsed, {@code ..}
     * at {@code /} staying at {@code /} (a link cannot climb out of the container's root).
     */
    static String containerPath(String path) {
        java.util.Deque<String> parts = new java.util.ArrayDeque<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(part);
            }
        }
        return "/" + String.join("/", parts);
    }

    /** Container path of a user path: absolute stays (normalized), relative resolves against the root. */
    String resolve(String path, String what) {
        if (path == null) {
            return settings.root();
        }
        String normalized = WorkspacePaths.normalizeRelative(path, what);
        if (path.startsWith("/")) {
            return "/" + normalized;
        }
        String root = settings.root();
        if (normalized.isEmpty()) {
            return root;
        }
        return root.equals("/") ? "/" + normalized : root + "/" + normalized;
    }

    /** Path shown to users: relative to the root when under it, else the container path. */
    private String relative(String abs) {
        String root = settings.root();
        if (root.equals("/")) {
            return abs.substring(1);
        }
        if (abs.equals(root)) {
            return "";
        }
        if (abs.startsWith(root + "/")) {
            return abs.substring(root.length() + 1);
        }
        return abs;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            removeContainer(client, containerId);
            processes.abandon(Duration.ofSeconds(5));
            CachedState c = cached;
            if (c != null) {
                c.close();
            }
        } finally {
            onClose.accept(this);
        }
    }

    /**
     * Kills what runs in the container besides its keep-alive process, and leaves the container running with its
     * checkpoint images and its lease on the cache entry (which stops counting when this JVM ends). The provider's
     * close and shutdown hook skip it; the next provider start after this JVM has ended removes it and its
     * checkpoint images as an orphan.
     */
    @Override
    public synchronized void detach() {
        if (!closed.compareAndSet(false, true)) {
            if (detached) {
                return;
            }
            throw new WorkspaceNotFoundException(id, "workspace '" + id + "' was closed; there is nothing left to detach");
        }
        detached = true;
        onDetach.accept(this);
        try {
            // PID 1 is the keep-alive loop; kill -1 spares it and the caller.
            exec.runInternal(java.util.List.of("/bin/sh", "-c", "kill -KILL -1 2>/dev/null; exit 0"),
                    Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            LOG.warn("workspace {}: could not end the commands running in container {}: {}", id, shortId(),
                    firstLine(String.valueOf(e.getMessage())));
        }
        processes.abandon(Duration.ofSeconds(5));
        LOG.info("workspace {} detached: container {} stays until a docker provider starts after this JVM has ended",
                id, shortId());
    }

    /** Whether {@link #detach()} released it. */
    public boolean isDetached() {
        return detached;
    }

    private String shortId() {
        String c = containerId;
        return c.substring(0, Math.min(12, c.length()));
    }

    public boolean isClosed() {
        return closed.get();
    }

    static void removeContainer(DockerClient client, String containerId) {
        try {
            client.removeContainerCmd(containerId).withForce(true).withRemoveVolumes(true).exec();
            LOG.debug("removed container {}", containerId.substring(0, Math.min(12, containerId.length())));
        } catch (NotFoundException e) {
            // already gone
        } catch (DockerException e) {
            String message = String.valueOf(e.getMessage());
            if (!message.contains("already in progress")) {
                LOG.warn("could not remove container {}: {}", containerId, firstLine(message));
            }
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new WorkspaceNotFoundException(id, detached
                    ? "workspace '" + id + "' was detached; its container " + shortId() + " stays until the next provider start"
                    : "workspace '" + id + "' was closed");
        }
    }

    private DerrickException failure(String what, DockerException e) {
        if (closed.get()) {
            return new WorkspaceNotFoundException(id, "workspace '" + id + "' was closed");
        }
        if (e instanceof NotFoundException && String.valueOf(e.getMessage()).toLowerCase().contains("container")) {
            return new WorkspaceNotFoundException(id, "the container of workspace '" + id + "' is gone");
        }
        return new DerrickException(what + " in workspace '" + id + "' failed: " + firstLine(String.valueOf(e.getMessage())), e);
    }

    static String firstLine(String s) {
        String t = s.strip();
        // docker-java messages look like 'Status 404: {"message":"..."}'
        int m = t.indexOf("\"message\":\"");
        if (m >= 0) {
            int end = t.indexOf('"', m + 11);
            if (end > m) {
                t = t.substring(m + 11, end);
            }
        }
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    @Override
    public List<dev.derrick.api.RepositoryFetch> fetch() {
        try {
            return fetchOnEngine();
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    @Override
    public void reset() {
        try {
            resetOnEngine();
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    @Override
    public String checkpoint() {
        try {
            return checkpointOnEngine();
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    @Override
    public void restore(String checkpointId) {
        try {
            restoreOnEngine(checkpointId);
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    @Override
    public ExecResult exec(ExecRequest request, OutputListener listener) {
        try {
            return execOnEngine(request, listener);
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    @Override
    public byte[] readFile(String path) {
        try {
            return readFileOnEngine(path);
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    @Override
    public void writeFile(String path, byte[] content) {
        try {
            writeFileOnEngine(path, content);
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    @Override
    public List<FileEntry> listFiles(String path) {
        try {
            return listFilesOnEngine(path);
        } catch (RuntimeException e) {
            throw lostOr(DockerEngine.unreachable(e));
        }
    }

    /**
     * A container that stopped under the workspace (the engine restarted, someone ran {@code docker stop}) makes the
     * workspace lost: reported as not found, saying why, rather than as a fault.
     */
    private RuntimeException lostOr(RuntimeException e) {
        String m = String.valueOf(e.getMessage());
        if (!(e instanceof dev.derrick.api.ProviderUnavailableException)
                && (m.contains("is not running") || m.contains("No such container"))) {
            return new dev.derrick.api.WorkspaceNotFoundException(id, "workspace " + id + " is lost: its container "
                    + (containerId.length() > 12 ? containerId.substring(0, 12) : containerId)
                    + " is not running any more (was the Docker engine restarted?); delete it and create another");
        }
        return e;
    }

    @Override
    public String toString() {
        return "DockerWorkspace[" + id + ", container " + containerId.substring(0, Math.min(12, containerId.length())) + "]";
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
