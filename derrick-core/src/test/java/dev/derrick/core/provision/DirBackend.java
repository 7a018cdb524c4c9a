package dev.derrick.core.provision;

import dev.derrick.api.ExecResult;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.BaseRequest;
import dev.derrick.api.spi.CachedSnapshot;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.api.spi.Snapshot;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.core.git.GitClient;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny real backend for the engine's tests: a base and a workspace are directories under {@code root}, a step is
 * {@code sh -c}, a snapshot a copy into the entry directory. Records what the engine asked of it.
 */
final class DirBackend implements ProvisioningBackend<String, Path, DirBackend.Ws> {
    /** A workspace: its directory and the snapshot it came from (null: cache off). */
    static final class Ws {
        final Path dir;
        final CachedSnapshot snapshot;
        final boolean builtNow;
        volatile int cleanMarks;
        /** What markClean recorded (null: the snapshot is the clean state). */
        volatile Path clean;
        volatile int restores;
        volatile List<RepositoryFetch> fetched = List.of();
        volatile boolean discarded;

        Ws(Path dir, CachedSnapshot snapshot, boolean builtNow) {
            this.dir = dir;
            this.snapshot = snapshot;
            this.builtNow = builtNow;
        }
    }

    final Path root;
    final GitClient git;
    final AtomicInteger basesMade = new AtomicInteger();
    final AtomicInteger basesDiscarded = new AtomicInteger();
    final AtomicInteger adopted = new AtomicInteger();
    final AtomicInteger instantiated = new AtomicInteger();
    final List<Path> liveBases = new CopyOnWriteArrayList<>();
    final List<String> contexts = new CopyOnWriteArrayList<>();
    volatile boolean payloadExists = true;
    volatile RuntimeException failSnapshot;

    DirBackend(Path root, GitClient git) {
        this.root = root;
        this.git = git;
    }

    @Override
    public String name() {
        return "dirs";
    }

    @Override
    public Path makeBase(String context, BaseRequest request, ProgressListener progress) {
        contexts.add(context);
        basesMade.incrementAndGet();
        Path dir = request.entryDirectory() != null ? request.entryDirectory().resolve("snapshot")
                : root.resolve("ws-" + request.workspaceId());
        mkdirs(dir);
        liveBases.add(dir);
        return dir;
    }

    @Override
    public Optional<Path> hostDirectory(Path base) {
        return Optional.of(base);
    }

    @Override
    public ExecResult runStep(String context, Path base, String script, WorkspaceConfig config) {
        return sh(base, script, config.env());
    }

    @Override
    public Duration stepTimeout() {
        return Duration.ofSeconds(60);
    }

    @Override
    public Snapshot snapshot(Path base, BaseRequest request) {
        RuntimeException fail = failSnapshot;
        if (fail != null) {
            throw fail;
        }
        return new Snapshot("snapshot", FileTrees.size(base), Map.of("kind", "dir"));
    }

    @Override
    public Optional<Ws> adopt(String context, Path base, CachedSnapshot snapshot, List<RepositoryState> states,
                              ProgressListener progress) {
        if (snapshot != null) {
            return Optional.empty(); // the base lives in the entry: instantiate a copy
        }
        adopted.incrementAndGet();
        liveBases.remove(base);
        return Optional.of(new Ws(base, null, true));
    }

    @Override
    public void discardBase(Path base) {
        basesDiscarded.incrementAndGet();
        liveBases.remove(base);
        if (base.startsWith(root)) {
            FileTrees.deleteQuietly(base);
        }
    }

    @Override
    public Ws instantiate(String context, CachedSnapshot snapshot, boolean builtNow, ProgressListener progress) {
        instantiated.incrementAndGet();
        Path dir = root.resolve("ws-" + UUID.randomUUID());
        FileTrees.copy(snapshot.directory().resolve(snapshot.payload()), dir);
        return new Ws(dir, snapshot, builtNow);
    }

    @Override
    public Optional<RepositoryFetch> fetch(Ws workspace, RepositoryConfig repository, ProgressListener progress) {
        return Optional.of(git.fetch(workspace.dir.resolve(repository.path()), repository, progress));
    }

    @Override
    public Path gitDirectory(Ws workspace, RepositoryConfig repository) {
        return workspace.dir.resolve(repository.path());
    }

    @Override
    public void fetched(Ws workspace, List<RepositoryFetch> fetches, Set<String> unreachable) {
        workspace.fetched = fetches;
    }

    @Override
    public List<RepositoryState> repositories(Ws workspace) {
        List<RepositoryState> out = new ArrayList<>();
        if (workspace.snapshot != null) {
            for (RepositoryState r : workspace.snapshot.repositories()) {
                out.add(GitClient.describe(workspace.dir.resolve(r.path()), r.path(), r.url()));
            }
        }
        return out;
    }

    @Override
    public ExecResult runUpdate(String context, Ws workspace, String script) {
        return sh(workspace.dir, script, Map.of());
    }

    @Override
    public void markClean(Ws workspace) {
        workspace.cleanMarks++;
        Path clean = workspace.dir.resolveSibling(workspace.dir.getFileName() + ".clean");
        FileTrees.deleteQuietly(clean);
        FileTrees.copy(workspace.dir, clean);
        workspace.clean = clean;
    }

    @Override
    public void restoreClean(String context, Ws workspace) {
        workspace.restores++;
        Path source = workspace.clean != null ? workspace.clean : workspace.snapshot.directory().resolve(workspace.snapshot.payload());
        FileTrees.deleteQuietly(workspace.dir);
        FileTrees.copy(source, workspace.dir);
    }

    @Override
    public RepositoryFetch fetchTo(Ws workspace, RepositoryConfig repository, String commit, ProgressListener progress) {
        return git.fastForwardTo(workspace.dir.resolve(repository.path()), repository, commit, progress);
    }

    @Override
    public void discardWorkspace(Ws workspace) {
        workspace.discarded = true;
        FileTrees.deleteQuietly(workspace.dir);
        if (workspace.snapshot != null) {
            workspace.snapshot.close();
        }
    }

    @Override
    public boolean snapshotExists(String payload) {
        return payloadExists;
    }

    static ExecResult sh(Path dir, String script, Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).directory(dir.toFile()).redirectErrorStream(true);
            pb.environment().putAll(env);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            return new ExecResult(code, out, "", out, Duration.ZERO, false, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
