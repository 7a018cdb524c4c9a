package dev.derrick.local.internal.cache;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheKey;
import dev.derrick.core.cache.CacheKeyFiles;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.core.cache.Freshness;
import dev.derrick.core.cache.SingleFlight;
import dev.derrick.core.git.GitClient;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The local backend's provisioning cache. A cache entry is a snapshot directory of a workspace's clean state (the
 * repositories cloned, the setup script run) under {@code cacheDir/local/}. {@link #create} makes a workspace root
 * from the newest entry of the config's key — building the entry first, once, when there is none — by an overlay
 * mount (Linux as root: O(1) in repository size) or a copy, then fetches upstream commits the entry lacks.
 */
public final class LocalCache implements AutoCloseable {
    /** The backend name in cache keys. */
    public static final String BACKEND = "local";
    private static final Logger LOG = LoggerFactory.getLogger(LocalCache.class);
    static final String SNAPSHOT = "snapshot";

    /** How a workspace is made from a snapshot. */
    public enum Mode {
        /** Overlay where possible, else copy. */
        AUTO,
        /** Linux overlayfs: snapshot as the lower layer, a per-workspace upper layer. Needs root. */
        OVERLAY,
        /** A copy of the snapshot ({@code cp -a --reflink=auto}). */
        COPY;

        public static Mode parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cache mode must be auto, overlay or copy, got '" + text + "'");
            }
        }
    }

    private final CacheStore store;
    private final GitClient git;
    private final Mode mode;
    private final boolean overlayPossible;
    private final EvictionPolicy eviction;
    private final SingleFlight<CacheKey, CacheEntry> flights = new SingleFlight<>();
    private final ExecutorService background;
    private final Path instancesDir;
    private final Consumer<Path> handOver;
    /** Commands run in sandboxes: the snapshot gets the sandbox's mount points even without a setup script. */
    private final boolean sandboxed;
    private final boolean linkGitObjects;
    private final boolean requireFresh;

    /**
     * @param cacheDir the cache directory ({@code cache_dir} option)
     * @param git      the provider's git client (its environment holds the tokens)
     * @param mode     how to make workspaces from snapshots
     * @param eviction bounds applied after every new entry
     */
    public LocalCache(Path cacheDir, GitClient git, Mode mode, EvictionPolicy eviction) {
        this(cacheDir, git, mode, eviction, false, null, true);
    }

    /**
     * @param requireFresh   whether a create that cannot bring every repository up to date with its remote fails
     *                       (else it logs a WARN and {@code info()} reports the repository as behind)
     */
    public LocalCache(Path cacheDir, GitClient git, Mode mode, EvictionPolicy eviction, boolean requireFresh) {
        this(cacheDir, git, mode, eviction, requireFresh, null, true);
    }

    /**
     * @param requireFresh   as above
     * @param handOver       called on a directory after the provider (JGit) wrote into it, before any script runs
     *                       there or a workspace uses it: gives it to the sandbox user ({@code null}: nothing)
     * @param linkGitObjects whether copies share the snapshot's git objects by hard link (not with a sandbox: a
     *                       command owning the shared inode could make it writable and change the snapshot)
     */
    public LocalCache(Path cacheDir, GitClient git, Mode mode, EvictionPolicy eviction, boolean requireFresh,
                      Consumer<Path> handOver, boolean linkGitObjects) {
        this.requireFresh = requireFresh;
        this.sandboxed = handOver != null;
        this.handOver = handOver == null ? dir -> { } : handOver;
        this.linkGitObjects = linkGitObjects;
        this.store = new CacheStore(cacheDir, BACKEND, null);
        this.instancesDir = cacheDir.toAbsolutePath().normalize().resolve("local-instances");
        this.git = Objects.requireNonNull(git, "git");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.eviction = eviction == null ? EvictionPolicy.NONE : eviction;
        this.overlayPossible = mode != Mode.COPY && Overlay.possible();
        if (mode == Mode.OVERLAY && !overlayPossible) {
            throw new IllegalArgumentException("cache mode 'overlay' needs Linux, root and overlayfs; use 'auto' or 'copy'");
        }
        this.background = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "derrick-cache-rebuild");
            t.setDaemon(true);
            return t;
        });
        // Instances first: an overlay mount of a dead process must be gone before its entry's snapshot can go.
        int collected = LocalInstance.reapStale(instancesDir);
        collected += store.collectGarbage();
        store.recordPolicy(this.eviction);
        if (this.eviction.bounded()) {
            collected += store.prune(this.eviction).size(); // entries that aged out while no provider ran
        }
        if (collected > 0) {
            LOG.info("removed {} leftover(s) of interrupted work from {}", collected, store.directory());
        }
    }

    /** The store, for listing and pruning. */
    public CacheStore store() {
        return store;
    }

    /** Whether new workspaces will be overlay mounts. */
    public boolean usesOverlay() {
        return overlayPossible;
    }

    /**
     * Makes a workspace root at {@code root} (which must not exist) in the config's clean state, bringing its
     * repositories up to date with their remotes.
     *
     * @throws SetupFailedException when cloning or the setup script fails (nothing is cached)
     */
    public LocalInstance create(WorkspaceConfig config, Path root, SetupRunner runner, ProgressListener progress) {
        ProgressListener listener = ProgressListener.orNone(progress);
        CacheKey key = CacheKey.of(BACKEND, config);
        boolean builtHere = false;
        CacheStore.Lease lease = null;
        for (int attempt = 0; lease == null; attempt++) {
            lease = store.acquire(key).orElse(null);
            if (lease == null) {
                if (attempt >= 3) {
                    throw new DerrickException("cache entry for " + config.name() + " disappeared right after it was built");
                }
                boolean[] mine = {false};
                flights.run(key, () -> store.find(key).orElseGet(() -> {
                    mine[0] = true;
                    return build(key, config, runner, listener);
                }));
                builtHere |= mine[0];
            }
        }
        LocalInstance instance;
        try {
            instance = LocalInstance.open(this, config, lease, root, instancesDir, overlayPossible, listener, runner);
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
        try {
            if (builtHere) {
                instance.rememberCloned(); // cloned just now: as fresh as the remote
            } else {
                bringUpToDate(instance, config, runner, listener);
            }
            return instance;
        } catch (RuntimeException e) {
            instance.close(); // unmounts, deletes the root and the bookkeeping, releases the lease
            throw e;
        }
    }

    /** Waits briefly for a background rebuild, then stops. */
    @Override
    public void close() {
        background.shutdown();
        try {
            if (!background.awaitTermination(1, TimeUnit.SECONDS)) {
                background.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            background.shutdownNow();
        }
    }

    /** Waits for queued background rebuilds (tests, benchmarks). */
    public void awaitBackgroundWork(long timeout, TimeUnit unit) throws Exception {
        background.submit(() -> { }).get(timeout, unit);
    }

    GitClient git() {
        return git;
    }

    boolean linkGitObjects() {
        return linkGitObjects;
    }

    // ------------------------------------------------------------------ building

    private CacheEntry build(CacheKey key, WorkspaceConfig config, SetupRunner runner, ProgressListener progress) {
        long start = System.nanoTime();
        try (CacheStore.Pending pending = store.begin(key)) {
            Path snapshot = pending.directory().resolve(SNAPSHOT);
            Files.createDirectories(snapshot);
            List<RepositoryState> states = new ArrayList<>();
            for (RepositoryConfig repo : config.repositories()) {
                checkCancelled(progress);
                progress.beginTask("clone " + repo.path(), ProgressListener.UNKNOWN);
                states.add(git.cloneRepository(repo, snapshot.resolve(repo.path()), progress));
                progress.endTask();
            }
            handOver.accept(snapshot);
            if (config.setupScript().isBlank() && sandboxed) {
                // the sandbox's mount points (usr, etc, proc, dev, tmp, home, bin…) belong to the clean state, so
                // that a workspace's sandbox adds nothing a diff or reset would see
                ExecResult result = runner.run(snapshot, "true", config.env(), progress);
                if (!result.succeeded()) {
                    throw new SetupFailedException("cannot prepare the sandbox of " + config.name() + ": " + result.output(),
                            result.exitCode(), result.output());
                }
            }
            if (!config.setupScript().isBlank()) {
                checkCancelled(progress);
                progress.beginTask("setup script", ProgressListener.UNKNOWN);
                ExecResult result = runner.run(snapshot, config.setupScript(), config.env(), progress);
                progress.endTask();
                if (!result.succeeded()) {
                    throw new SetupFailedException("setup script of " + config.name()
                            + (result.timedOut() ? " timed out" : " exited with " + result.exitCode()),
                            result.exitCode(), result.output());
                }
            }
            long size = FileTrees.size(snapshot);
            CacheEntry meta = new CacheEntry(null, null, null, config.name(), states, null, null, size, SNAPSHOT,
                    Map.of("setup_ms", Long.toString((System.nanoTime() - start) / 1_000_000)));
            CacheEntry entry;
            try (CacheStore.Lease lease = pending.publish(meta)) {
                entry = lease.entry();
            }
            if (eviction.bounded()) {
                store.prune(eviction);
            }
            return entry;
        } catch (IOException e) {
            throw new SetupFailedException("cannot prepare the cache directory: " + e.getMessage(), e);
        }
    }

    private void bringUpToDate(LocalInstance instance, WorkspaceConfig config, SetupRunner runner, ProgressListener progress) {
        CacheEntry entry = instance.cacheEntry();
        boolean moved = false;
        boolean keyFileChanged = false;
        Freshness freshness = new Freshness(config, entry.id());
        for (RepositoryConfig repo : config.repositories()) {
            if (repo.reference() != null && ObjectId.isId(repo.reference())) {
                continue; // pinned to a commit: nothing to fetch
            }
            RepositoryFetch fetch;
            try {
                fetch = git.fetch(instance.root().resolve(repo.path()), repo, progress);
            } catch (GitOperationException e) {
                freshness.unreachable(repo, e);
                continue;
            }
            freshness.fetched(fetch);
            if (fetch.updated()) {
                moved = true;
                LOG.info("{}: {} moved {} -> {} since cache entry {}", config.name(), repo.displayName(),
                        abbreviate(fetch.before()), abbreviate(fetch.after()), entry.generation());
                if (!keyFileChanged && !config.cacheKeyFiles().isEmpty()) {
                    keyFileChanged = CacheKeyFiles.changed(instance.root().resolve(repo.path()), fetch.before(),
                            fetch.after(), config.cacheKeyFiles());
                }
            }
        }
        if (moved) {
            handOver.accept(instance.root());
        }
        instance.remember(freshness);
        Map<String, String> commits = new java.util.HashMap<>();
        instance.repositories().forEach(r -> commits.put(r.path(), r.commit()));
        freshness.report(commits, requireFresh);
        if (moved && config.updateScript() != null) {
            ExecResult result = runner.run(instance.root(), config.updateScript(), config.env(), progress);
            if (!result.succeeded()) {
                throw new SetupFailedException("update script of " + config.name()
                        + (result.timedOut() ? " timed out" : " exited with " + result.exitCode()),
                        result.exitCode(), result.output());
            }
        }
        if (moved) {
            instance.markClean();
        }
        if (keyFileChanged) {
            scheduleRebuild(CacheKey.of(BACKEND, config), config, runner, entry);
        }
    }

    private void scheduleRebuild(CacheKey key, WorkspaceConfig config, SetupRunner runner, CacheEntry stale) {
        LOG.info("{}: a cache key file changed upstream; rebuilding cache entry {} in the background", config.name(),
                key.shortHex());
        try {
            background.submit(() -> {
                try {
                    flights.run(key, () -> {
                        CacheEntry newest = store.find(key).orElse(null);
                        if (newest != null && !newest.generation().equals(stale.generation())) {
                            return newest; // somebody rebuilt it already
                        }
                        return build(key, config, runner, ProgressListener.NONE);
                    });
                } catch (RuntimeException e) {
                    LOG.warn("background rebuild of {} failed: {}", config.name(), e.getMessage());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("not rebuilding {}: closing", config.name());
        }
    }

    private static void checkCancelled(ProgressListener progress) {
        if (progress.isCancelled()) {
            throw new SetupFailedException("setup was cancelled", -1, "");
        }
    }

    private static String abbreviate(String commit) {
        return commit == null ? "(none)" : commit.substring(0, Math.min(12, commit.length()));
    }
}
