package dev.derrick.local.internal.cache;

import dev.derrick.api.CheckpointNotFoundException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.core.git.GitClient;
import dev.derrick.core.process.OwnerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One workspace root made from a cache entry, and what can be done to its state: fetch, reset to the clean state,
 * checkpoint and restore. Holds a lease on the entry until {@link #close()}.
 *
 * <p>Overlay mode: the root is an overlay mount of the entry's snapshot (read-only, shared) and an upper layer of
 * this workspace's own; reset empties the upper layer, a checkpoint is a copy of it. Copy mode: the root is a copy
 * of the snapshot; reset syncs it back (copying only what differs), a checkpoint is a copy of the root. Either
 * way the bookkeeping (upper layer, checkpoints, owner) lives under {@code cacheDir/local-instances/}.
 */
public final class LocalInstance implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalInstance.class);
    /** The owner ({@link OwnerId#text()}; a bare pid in records of older versions). Named as it always was. */
    private static final String OWNER = "owner.pid";
    private static final String ROOT = "root";

    private final LocalCache cache;
    private final WorkspaceConfig config;
    private final CacheStore.Lease lease;
    private final Path root;
    private final Path state;
    private final boolean overlay;
    private final Map<String, Path> checkpoints = new LinkedHashMap<>();
    private final SetupRunner runner;
    /** Per repository path, the last look at its remote (the create's or a fetch's). */
    private final Map<String, RepositoryFetch> lastFetch = new LinkedHashMap<>();
    private final java.util.Set<String> unreachable = new java.util.HashSet<>();
    /** Per repository path, the commit a {@link #fetch} moved it to since the clean state: where reset returns. */
    private final Map<String, String> fetchedSinceClean = new LinkedHashMap<>();
    private Path clean;
    private boolean closed;

    private LocalInstance(LocalCache cache, WorkspaceConfig config, CacheStore.Lease lease, Path root, Path state,
                          boolean overlay, SetupRunner runner) {
        this.runner = runner;
        this.cache = cache;
        this.config = config;
        this.lease = lease;
        this.root = root;
        this.state = state;
        this.overlay = overlay;
    }

    static LocalInstance open(LocalCache cache, WorkspaceConfig config, CacheStore.Lease lease, Path root,
                              Path instancesDir, boolean tryOverlay, ProgressListener progress, SetupRunner runner) {
        Path state = instancesDir.resolve(root.getFileName() + "-" + UUID.randomUUID().toString().substring(0, 8));
        Path snapshot = lease.directory().resolve(LocalCache.SNAPSHOT);
        try {
            if (Files.exists(root) && !isEmptyDir(root)) {
                throw new DerrickException("workspace root " + root + " already exists and is not empty");
            }
            Files.createDirectories(root);
            Files.createDirectories(state);
            Files.writeString(state.resolve(OWNER), OwnerId.current().text());
            Files.writeString(state.resolve(ROOT), root.toString());
            progress.beginTask("instantiate from cache entry " + lease.entry().key().substring(0, 12), ProgressListener.UNKNOWN);
            boolean overlay = false;
            if (tryOverlay) {
                try {
                    Files.createDirectories(state.resolve("upper"));
                    Files.createDirectories(state.resolve("work"));
                    Overlay.mount(snapshot, state.resolve("upper"), state.resolve("work"), root);
                    overlay = true;
                } catch (IOException e) {
                    LOG.warn("overlay mount failed, copying the snapshot instead: {}", e.getMessage());
                    FileTrees.deleteQuietly(state.resolve("upper"));
                    FileTrees.deleteQuietly(state.resolve("work"));
                }
            }
            if (!overlay) {
                if (cache.linkGitObjects()) {
                    FileTrees.copyLinkingGitObjects(snapshot, root,
                            config.repositories().stream().map(RepositoryConfig::path).toList());
                } else {
                    FileTrees.copy(snapshot, root);
                }
            }
            progress.endTask();
            return new LocalInstance(cache, config, lease, root, state, overlay, runner);
        } catch (IOException | RuntimeException e) {
            if (Overlay.isMounted(root)) {
                Overlay.unmount(root);
            }
            FileTrees.deleteQuietly(state);
            FileTrees.deleteQuietly(root);
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new UncheckedIOException((IOException) e);
        }
    }

    /**
     * Unmounts and removes what workspaces left behind when their process died (kill -9): overlay mounts, their
     * roots and bookkeeping directories (under {@code instancesDir}) whose owner process is gone.
     *
     * @return how many workspaces were cleaned up
     */
    static int reapStale(Path instancesDir) {
        int reaped = 0;
        if (!Files.isDirectory(instancesDir)) {
            return 0;
        }
        try (var children = Files.list(instancesDir)) {
            for (Path state : children.toList()) {
                java.util.Optional<OwnerId> owner;
                try {
                    owner = OwnerId.parse(Files.readString(state.resolve(OWNER)));
                } catch (IOException e) {
                    continue;
                }
                if (owner.isEmpty() || owner.get().isAlive()) {
                    continue;
                }
                Path root;
                try {
                    root = Path.of(Files.readString(state.resolve(ROOT)).strip());
                } catch (IOException | RuntimeException e) {
                    continue;
                }
                // Only what open() made: an absolute root named like the record (<root name>-<8 hex>), no link.
                String stateName = state.getFileName().toString();
                if (!root.isAbsolute() || root.getFileName() == null || !root.normalize().equals(root)
                        || !stateName.equals(root.getFileName() + stateName.substring(Math.max(0, stateName.length() - 9)))
                        || !stateName.matches(".+-[0-9a-f]{8}") || Files.isSymbolicLink(root)) {
                    LOG.warn("leaving {} alone: its record names {}, which it cannot have made", state, root);
                    continue;
                }
                LOG.info("removing workspace {} left by {}, which is gone", root, owner.get());
                if (Overlay.isMounted(root)) {
                    Overlay.unmount(root);
                }
                FileTrees.deleteQuietly(root);
                FileTrees.deleteQuietly(state);
                reaped++;
            }
        } catch (IOException e) {
            LOG.warn("cannot look for stale workspaces in {}: {}", instancesDir, e.getMessage());
        }
        return reaped;
    }

    /** The workspace root. */
    public Path root() {
        return root;
    }

    /** The cache entry it was made from. */
    public CacheEntry cacheEntry() {
        return lease.entry();
    }

    /** {@code overlay} or {@code copy}. */
    public String mode() {
        return overlay ? "overlay" : "copy";
    }

    /**
     * Its repositories as they are now, with their display names and how they compared with their remotes at the
     * last look (the create's, or the last {@link #fetch}'s).
     */
    public synchronized List<RepositoryState> repositories() {
        List<RepositoryState> out = new ArrayList<>();
        for (RepositoryConfig repo : config.repositories()) {
            Path dir = root.resolve(repo.path());
            if (Files.isDirectory(dir.resolve(".git"))) {
                RepositoryState now = GitClient.describe(dir, repo.path(), repo.url()).withName(repo.name());
                RepositoryFetch last = lastFetch.get(repo.path());
                if (unreachable.contains(repo.path())) {
                    now = now.unreachable();
                } else if (last != null) {
                    RepositoryState compared = now.withFetch(last);
                    // The checkout may have moved since (an agent's commit): keep the commit that is there now.
                    now = new RepositoryState(now.path(), now.url(), now.commit(), now.branch(), now.name(),
                            compared.remoteCommit(), compared.behind() && !now.commit().equals(last.remote()),
                            compared.status());
                }
                out.add(now);
            }
        }
        return out;
    }

    /** Records that the repositories were cloned by this create (the entry was built for it). */
    synchronized void rememberCloned() {
        for (RepositoryState r : lease.entry().repositories()) {
            lastFetch.put(r.path(), new RepositoryFetch(r.path(), r.commit(), r.commit(), false, "cloned", r.commit()));
        }
    }

    /** Keeps what the create found out about the remotes, for {@link #repositories()}. */
    synchronized void remember(List<RepositoryFetch> fetches, java.util.Set<String> unreachablePaths) {
        fetches.forEach(f -> lastFetch.put(f.path(), f));
        unreachable.addAll(unreachablePaths);
    }

    /**
     * Fetches every repository and fast-forwards checkouts that have no local change in the way; dirty or diverged
     * ones are reported. A repository it moves is where a later {@link #reset()} returns to.
     */
    public synchronized List<RepositoryFetch> fetch(ProgressListener progress) {
        checkOpen();
        List<RepositoryFetch> out = new ArrayList<>();
        for (RepositoryConfig repo : config.repositories()) {
            RepositoryFetch f = cache.git().fetch(root.resolve(repo.path()), repo, progress);
            lastFetch.put(repo.path(), f);
            unreachable.remove(repo.path());
            if (f.updated()) {
                fetchedSinceClean.put(repo.path(), f.after());
            }
            out.add(f);
        }
        return out;
    }

    /**
     * Back to the clean state of the cache entry: every change, addition and deletion inside and outside the
     * repositories is undone. Processes still running in the workspace keep the files they have open. When a
     * {@link #fetch} moved repositories since, the engine returns them to the fetched commits and runs the update
     * script ({@link dev.derrick.api.spi.ProvisioningEngine#reset}).
     */
    public synchronized void reset() {
        checkOpen();
        long start = System.nanoTime();
        Map<String, String> moved = Map.copyOf(fetchedSinceClean);
        fetchedSinceClean.clear();
        cache.engine().reset(new LocalBackend.Create(root, null, runner, config), new LocalBackend.Built(this, null),
                config, moved);
        LOG.info("reset {} ({}) in {} ms", root, mode(), (System.nanoTime() - start) / 1_000_000);
    }

    /** The engine's first step of a reset: the files as the clean state has them. */
    synchronized void restoreClean() {
        checkOpen();
        if (overlay) {
            remount(clean);
        } else {
            TreeSync.sync(clean != null ? clean : lease.directory().resolve(LocalCache.SNAPSHOT), root);
        }
    }

    /** Moves a repository to a commit an earlier fetch brought (a reset returning to it); see the engine. */
    RepositoryFetch fetchTo(RepositoryConfig repo, String commit) {
        return cache.git().fastForwardTo(root.resolve(repo.path()), repo, commit, ProgressListener.NONE);
    }

    /**
     * Makes the current state this workspace's clean state: called when a create had to bring the entry up to date
     * (fetch, update script), so that {@link #reset()} returns to the state the workspace was handed out in.
     */
    synchronized void markClean() {
        Path target = state.resolve("clean");
        FileTrees.deleteQuietly(target);
        FileTrees.copy(overlay ? state.resolve("upper") : root, target);
        clean = target;
    }

    /**
     * The files changed since the clean state outside {@code excluded} (the repositories, relative to the root),
     * compared by metadata with the clean layers: for {@link dev.derrick.api.Workspace#diff()}.
     */
    public synchronized List<dev.derrick.api.ChangedFile> changesOutside(java.util.Set<String> excluded) {
        checkOpen();
        Path snapshot = lease.directory().resolve(LocalCache.SNAPSHOT);
        List<Path> layers = overlay ? (clean == null ? List.of(snapshot) : List.of(clean, snapshot))
                : List.of(clean != null ? clean : snapshot);
        return OutsideChanges.of(root, layers, excluded);
    }

    /** Records the current state; returns its id. */
    public synchronized String checkpoint() {
        checkOpen();
        String id = "cp-" + UUID.randomUUID().toString().substring(0, 8);
        Path target = state.resolve("checkpoints").resolve(id);
        if (overlay) {
            FileTrees.copy(state.resolve("upper"), target);
        } else {
            FileTrees.copy(root, target);
        }
        checkpoints.put(id, target);
        return id;
    }

    /** Returns to a checkpoint's state. */
    public synchronized void restore(String checkpointId) {
        checkOpen();
        Path source = checkpoints.get(checkpointId);
        if (source == null) {
            throw new CheckpointNotFoundException(checkpointId, "no checkpoint '" + checkpointId + "' in this workspace; known: "
                    + checkpoints.keySet());
        }
        if (overlay) {
            remount(source);
        } else {
            TreeSync.sync(source, root);
        }
    }

    /**
     * A new instance at {@code newRoot} (absent or empty) with this one's current files and clean state, and a lease
     * of its own on the same cache entry: overlay mode copies the upper layer and mounts it over the same snapshot,
     * copy mode copies the root. What the caller's processes might write meanwhile is its to stop (freeze).
     *
     * @param newRunner runs the new instance's update script (a reset that returns to fetched commits)
     */
    public LocalInstance fork(Path newRoot, SetupRunner newRunner) {
        Path cleanNow;
        Map<String, RepositoryFetch> lastFetchNow;
        java.util.Set<String> unreachableNow;
        Map<String, String> fetchedNow;
        synchronized (this) { // what the copy needs; the copy itself runs unlocked, so forks copy side by side
            checkOpen();
            cleanNow = clean;
            lastFetchNow = new LinkedHashMap<>(lastFetch);
            unreachableNow = new java.util.HashSet<>(unreachable);
            fetchedNow = new LinkedHashMap<>(fetchedSinceClean);
        }
        CacheStore.Lease newLease = cache.store().lease(lease.entry());
        Path newState = cache.instancesDir().resolve(newRoot.getFileName() + "-" + UUID.randomUUID().toString().substring(0, 8));
        boolean mounted = false;
        try {
            if (Files.exists(newRoot) && !isEmptyDir(newRoot)) {
                throw new DerrickException("workspace root " + newRoot + " already exists and is not empty");
            }
            Files.createDirectories(newRoot);
            Files.createDirectories(newState);
            Files.writeString(newState.resolve(OWNER), OwnerId.current().text());
            Files.writeString(newState.resolve(ROOT), newRoot.toString());
            if (overlay) {
                FileTrees.copy(state.resolve("upper"), newState.resolve("upper"));
                Files.createDirectories(newState.resolve("work"));
                Overlay.mount(lease.directory().resolve(LocalCache.SNAPSHOT), newState.resolve("upper"),
                        newState.resolve("work"), newRoot);
                mounted = true;
            } else {
                FileTrees.copy(root, newRoot);
            }
            LocalInstance fork = new LocalInstance(cache, config, newLease, newRoot, newState, overlay, newRunner);
            if (cleanNow != null) {
                FileTrees.copy(cleanNow, newState.resolve("clean"));
                fork.clean = newState.resolve("clean");
            }
            fork.lastFetch.putAll(lastFetchNow);
            fork.unreachable.addAll(unreachableNow);
            fork.fetchedSinceClean.putAll(fetchedNow);
            return fork;
        } catch (IOException | RuntimeException e) {
            if (mounted) {
                Overlay.unmount(newRoot);
            }
            FileTrees.deleteQuietly(newState);
            FileTrees.deleteQuietly(newRoot);
            newLease.close();
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new UncheckedIOException((IOException) e);
        }
    }

    /** Unmounts or deletes the root and the bookkeeping, and releases the cache entry. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (overlay) {
                Overlay.unmount(root);
            }
            FileTrees.deleteQuietly(root);
            FileTrees.deleteQuietly(state);
        } finally {
            lease.close();
        }
    }

    /**
     * Stops using the instance but leaves it in place: the root (mounted or copied) and the bookkeeping stay, and so
     * does the lease on the cache entry, which stops counting when this process ends. {@link #reapStale} removes it
     * all once this process is gone.
     */
    public synchronized void detach() {
        closed = true;
    }

    private void remount(Path upperSource) {
        Path upper = state.resolve("upper");
        Path work = state.resolve("work");
        Overlay.unmount(root);
        FileTrees.deleteQuietly(upper);
        FileTrees.deleteQuietly(work);
        try {
            if (upperSource == null) {
                Files.createDirectories(upper);
            } else {
                FileTrees.copy(upperSource, upper);
            }
            Files.createDirectories(work);
            Overlay.mount(lease.directory().resolve(LocalCache.SNAPSHOT), upper, work, root);
        } catch (IOException e) {
            throw new DerrickException("cannot remount workspace " + root + ": " + e.getMessage(), e);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new DerrickException("workspace at " + root + " is closed");
        }
    }

    private static boolean isEmptyDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }
}
