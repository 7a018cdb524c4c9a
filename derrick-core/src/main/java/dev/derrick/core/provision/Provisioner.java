package dev.derrick.core.provision;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.CachedSnapshot;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.api.spi.ProvisioningEngine;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheKey;
import dev.derrick.core.cache.CacheKeyFiles;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.core.cache.Freshness;
import dev.derrick.core.cache.SingleFlight;
import dev.derrick.core.git.GitClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The one implementation of the create flow for every backend (see {@link ProvisioningBackend} for the flow and the
 * backend's part): cache key, lease, retries when an entry vanishes, single flight per key, clone, setup script,
 * publish, instantiate, create-time fetch, update script, clean state, {@code cache_key_files} background rebuild,
 * cancellation ({@link dev.derrick.api.WorkspaceCancelledException}), progress, redaction, and the exceptions
 * ({@link Failures}).
 *
 * @param <C> the backend's per-create context
 * @param <B> its base
 * @param <W> its workspace
 */
public final class Provisioner<C, B, W> implements ProvisioningEngine<C, W> {
    private static final Logger LOG = LoggerFactory.getLogger(Provisioner.class);
    /** How often a create looks for an entry again when the one just built (or found) vanished before its lease. */
    static final int ATTEMPTS = 3;

    /**
     * What the engine works with.
     *
     * @param store        the backend's cache store; {@code null} turns the cache off (every create builds)
     * @param eviction     bounds applied after every new entry
     * @param requireFresh whether a create that cannot bring a repository up to date fails
     * @param git          clones with the provider's tokens
     * @param redactor     the tokens to scrub (the one {@code git} uses); the engine adds the config's tokens
     * @param environment  the provider's environment, where tokens are looked up
     */
    public record Settings(CacheStore store, EvictionPolicy eviction, boolean requireFresh, GitClient git,
                           Redactor redactor, Map<String, String> environment) {
        public Settings {
            eviction = eviction == null ? EvictionPolicy.NONE : eviction;
            Objects.requireNonNull(git, "git");
            Objects.requireNonNull(redactor, "redactor");
            environment = Map.copyOf(environment == null ? Map.of() : environment);
        }

        /** With the git client's redactor and environment. */
        public static Settings of(CacheStore store, EvictionPolicy eviction, boolean requireFresh, GitClient git) {
            return new Settings(store, eviction, requireFresh, git, git.redactor(), git.environment());
        }
    }

    private final ProvisioningBackend<C, B, W> backend;
    private final Settings settings;
    private final CacheStore store;
    private final Failures failures;
    private final SingleFlight<CacheKey, Builds.Build<B>> flights = new SingleFlight<>();
    private final ExecutorService rebuilds;
    private final ExecutorService io;
    private final Builds<C, B, W> builds;

    public Provisioner(ProvisioningBackend<C, B, W> backend, Settings settings) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.store = settings.store();
        this.failures = new Failures(settings.redactor());
        this.rebuilds = Executors.newSingleThreadExecutor(r -> daemon(r, "derrick-cache-rebuild-" + backend.name()));
        this.io = Executors.newCachedThreadPool(r -> daemon(r, "derrick-provision-" + backend.name()));
        this.builds = new Builds<>(backend, settings, failures, io);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** The cache store, or {@code null} with the cache off. */
    public CacheStore store() {
        return store;
    }

    @Override
    public boolean caching() {
        return store != null;
    }

    /** The key a config's entry has (after the backend's {@link ProvisioningBackend#prepare}). */
    public CacheKey key(WorkspaceConfig prepared) {
        return CacheKey.of(backend.name(), prepared);
    }

    // ------------------------------------------------------------------ create

    @Override
    public W create(C context, WorkspaceConfig config, ProgressListener progress) {
        Objects.requireNonNull(config, "config");
        ProgressListener listener = ProgressListener.orNone(progress);
        try {
            // Token variables are checked, and their values scrubbed from everything, before anything is started.
            for (RepositoryConfig repo : config.repositories()) {
                repo.authIfSet().ifPresent(a -> settings.redactor().add(a.resolveToken(settings.environment())));
            }
            failures.checkCancelled(listener, config);
            WorkspaceConfig prepared = backend.prepare(context, config, listener);
            failures.checkCancelled(listener, config);
            return store == null ? createUncached(context, config, listener)
                    : createCached(context, config, key(prepared), listener);
        } catch (RuntimeException e) {
            RuntimeException thrown = failures.translate(e, config, backend);
            LOG.info("creating a workspace for '{}' failed: {}", config.name(), failures.redact(String.valueOf(thrown.getMessage())));
            throw thrown;
        }
    }

    private W createUncached(C context, WorkspaceConfig config, ProgressListener listener) {
        Builds.Build<B> built = builds.build(context, config, null, false, listener);
        try {
            return backend.adopt(context, built.base(), null, built.states(), listener)
                    .orElseThrow(() -> new DerrickException("backend " + backend.name()
                            + " cannot create a workspace with the cache off (its adopt() makes none)"));
        } catch (RuntimeException e) {
            backend.discardBase(built.base());
            throw e;
        }
    }

    private W createCached(C context, WorkspaceConfig config, CacheKey key, ProgressListener listener) {
        for (int attempt = 0; ; attempt++) {
            Optional<CacheStore.Lease> lease = acquire(key);
            if (lease.isPresent()) {
                return fromSnapshot(context, config, key, new LeasedSnapshot(lease.get()), listener);
            }
            if (attempt >= ATTEMPTS) {
                throw new DerrickException("the cache entry of '" + config.name() + "' disappeared right after it was built");
            }
            SingleFlight.Flight<Builds.Build<B>> flight = flights.join(key, () -> store.find(key).map(Builds.Build::<B>found)
                    .orElseGet(() -> builds.build(context, config, key, false, listener)));
            Builds.Build<B> built = flight.value();
            if (flight.led() && built.lease() != null) {
                return fromOwnBuild(context, built, listener);
            }
            // another caller built it (or it was there): lease it on the next turn
        }
    }

    /** The newest entry whose payload still exists, leased; an entry whose payload is gone is dropped. */
    private Optional<CacheStore.Lease> acquire(CacheKey key) {
        for (int i = 0; i < ATTEMPTS; i++) {
            Optional<CacheStore.Lease> lease = store.acquire(key);
            if (lease.isEmpty() || backend.snapshotExists(lease.get().entry().payload())) {
                return lease;
            }
            LOG.warn("the payload of cache entry {} is gone; dropping the entry", lease.get().entry().id());
            lease.get().close();
            store.remove(lease.get().entry());
        }
        return Optional.empty();
    }

    /** The leader of a build: its base becomes the workspace, or one is made from the entry it just published. */
    private W fromOwnBuild(C context, Builds.Build<B> built, ProgressListener listener) {
        LeasedSnapshot snapshot = new LeasedSnapshot(built.lease());
        Optional<W> adopted;
        try {
            adopted = backend.adopt(context, built.base(), snapshot, built.states(), listener);
        } catch (RuntimeException e) {
            backend.discardBase(built.base());
            snapshot.close();
            throw e;
        }
        if (adopted.isPresent()) {
            return adopted.get();
        }
        backend.discardBase(built.base());
        try {
            return backend.instantiate(context, snapshot, true, listener);
        } catch (RuntimeException e) {
            snapshot.close();
            throw e;
        }
    }

    /** A workspace from a published entry, brought up to date with its remotes. */
    private W fromSnapshot(C context, WorkspaceConfig config, CacheKey key, LeasedSnapshot snapshot,
                           ProgressListener listener) {
        W workspace;
        try {
            workspace = backend.instantiate(context, snapshot, false, listener);
        } catch (RuntimeException e) {
            snapshot.close();
            throw e;
        }
        try {
            failures.checkCancelled(listener, config);
            bringUpToDate(context, config, key, snapshot, workspace, listener);
            failures.checkCancelled(listener, config);
            return workspace;
        } catch (RuntimeException e) {
            backend.discardWorkspace(workspace); // and with it the lease
            throw e;
        }
    }

    /**
     * Create-time fetch: every repository brought up to date with its remote (a remote that cannot be reached is a
     * WARN, or with {@code require_fresh} a failure); when something moved, the update script runs and the result
     * becomes the workspace's clean state; when a {@code cache_key_files} file moved, the entry is rebuilt in the
     * background.
     */
    private void bringUpToDate(C context, WorkspaceConfig config, CacheKey key, CachedSnapshot snapshot, W workspace,
                               ProgressListener listener) {
        Freshness freshness = new Freshness(config, snapshot.id());
        List<RepositoryFetch> fetches = new ArrayList<>();
        boolean keyFileChanged = false;
        for (RepositoryConfig repo : config.repositories()) {
            Optional<RepositoryFetch> outcome;
            try {
                outcome = backend.fetch(workspace, repo, listener);
            } catch (GitOperationException e) {
                freshness.unreachable(repo, e);
                continue;
            } catch (OperationNotSupportedException e) {
                LOG.warn("not checking {} for new commits: {}", config.name(), e.getMessage());
                break;
            }
            if (outcome.isEmpty()) {
                continue; // nothing to fetch (pinned to a commit)
            }
            RepositoryFetch fetch = outcome.get();
            freshness.fetched(fetch);
            fetches.add(fetch);
            if (fetch.updated()) {
                LOG.info("{}: {} moved {} -> {} since cache entry {}", config.name(), repo.displayName(),
                        abbreviate(fetch.before()), abbreviate(fetch.after()), snapshot.generation());
                if (!keyFileChanged && !config.cacheKeyFiles().isEmpty()) {
                    Path dir = backend.gitDirectory(workspace, repo);
                    String before = fetch.before() != null ? fetch.before() : snapshot.commitOf(repo.path());
                    keyFileChanged = dir != null && CacheKeyFiles.changed(dir, before, fetch.after(), config.cacheKeyFiles());
                }
            }
        }
        backend.fetched(workspace, List.copyOf(fetches), freshness.unreachable().keySet());
        Map<String, String> commits = new HashMap<>();
        backend.repositories(workspace).forEach(r -> commits.put(r.path(), r.commit()));
        freshness.report(commits, settings.requireFresh());
        if (fetches.stream().anyMatch(RepositoryFetch::updated)) {
            if (config.updateScript() != null) {
                failures.checkCancelled(listener, config);
                listener.beginTask("update script", ProgressListener.UNKNOWN);
                ExecResult result = backend.runUpdate(context, workspace, config.updateScript());
                listener.endTask();
                if (!result.succeeded()) {
                    throw failures.script("update script", config, result, backend.stepTimeout());
                }
            }
            backend.markClean(workspace);
        }
        if (keyFileChanged) {
            scheduleRebuild(context, config, key, snapshot.generation());
        }
    }

    private void scheduleRebuild(C context, WorkspaceConfig config, CacheKey key, String staleGeneration) {
        LOG.info("{}: a cache key file changed upstream; rebuilding cache entry {} in the background", config.name(),
                key.shortHex());
        try {
            rebuilds.submit(() -> {
                try {
                    flights.join(key, () -> {
                        CacheEntry newest = store.find(key).orElse(null);
                        if (newest != null && !newest.generation().equals(staleGeneration)) {
                            return Builds.Build.found(newest); // somebody rebuilt it already
                        }
                        Builds.Build<B> built = builds.build(context, config, key, true, ProgressListener.NONE);
                        backend.discardBase(built.base());
                        built.lease().close();
                        return Builds.Build.found(built.lease().entry());
                    });
                } catch (RuntimeException e) {
                    LOG.warn("background rebuild of {} failed: {}", config.name(),
                            failures.redact(String.valueOf(e.getMessage())));
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.debug("not rebuilding {}: closing", config.name());
        }
    }

    // ------------------------------------------------------------------ reset

    @Override
    public void reset(C context, W workspace, WorkspaceConfig config, Map<String, String> fetchedSinceClean) {
        Objects.requireNonNull(workspace, "workspace");
        Objects.requireNonNull(config, "config");
        Map<String, String> targets = fetchedSinceClean == null ? Map.of() : Map.copyOf(fetchedSinceClean);
        long start = System.nanoTime();
        backend.restoreClean(context, workspace);
        if (!targets.isEmpty()) {
            returnToFetched(context, workspace, config, targets);
        }
        LOG.debug("{}: reset in {} ms", config.name(), (System.nanoTime() - start) / 1_000_000);
    }

    /**
     * After a reset: the repositories the workspace's fetches had moved go back to exactly those commits, the update
     * script runs, and that becomes the clean state, as at a create that fetched.
     */
    private void returnToFetched(C context, W workspace, WorkspaceConfig config, Map<String, String> targets) {
        List<RepositoryFetch> fetches = new ArrayList<>();
        for (RepositoryConfig repo : config.repositories()) {
            String target = targets.get(repo.path());
            if (target == null) {
                continue;
            }
            RepositoryFetch fetch;
            try {
                fetch = backend.fetchTo(workspace, repo, target, ProgressListener.NONE);
            } catch (RuntimeException e) {
                LOG.warn("{}: reset could not return {} to the fetched commit {}: {}; it is at the clean state's commit",
                        config.name(), repo.displayName(), abbreviate(target), failures.redact(String.valueOf(e.getMessage())));
                continue;
            }
            if (!fetch.updated() && !target.equals(fetch.after())) {
                LOG.warn("{}: reset could not return {} to the fetched commit {} ({}); it stays at {}", config.name(),
                        repo.displayName(), abbreviate(target), fetch.status(), abbreviate(fetch.after()));
            }
            fetches.add(fetch);
        }
        backend.fetched(workspace, List.copyOf(fetches), Set.of());
        if (fetches.stream().noneMatch(RepositoryFetch::updated)) {
            return;
        }
        if (config.updateScript() != null) {
            ExecResult result = backend.runUpdate(context, workspace, config.updateScript());
            if (!result.succeeded()) {
                throw failures.script("update script (after a reset returned to the fetched commits)", config, result,
                        backend.stepTimeout());
            }
        }
        backend.markClean(workspace);
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void awaitBackgroundWork(Duration timeout) throws Exception {
        rebuilds.submit(() -> { }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Waits briefly for a background rebuild, then stops. */
    @Override
    public void close() {
        rebuilds.shutdown();
        io.shutdown();
        try {
            if (!rebuilds.awaitTermination(1, TimeUnit.SECONDS)) {
                rebuilds.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            rebuilds.shutdownNow();
        }
    }

    private static String abbreviate(String commit) {
        return commit == null ? "(none)" : commit.substring(0, Math.min(12, commit.length()));
    }
}
