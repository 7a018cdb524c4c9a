package dev.derrick.core.provision;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.BaseRequest;
import dev.derrick.api.spi.ProvisioningBackend;
import dev.derrick.api.spi.Snapshot;
import dev.derrick.api.spi.WorkspaceIds;
import dev.derrick.core.Futures;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheKey;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.FileTrees;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The build half of {@link Provisioner}: a base with a config's clean state — repositories cloned on this side,
 * copied in when the base is not a host directory, the setup script run — and, for a cache key, its snapshot
 * published as a cache entry.
 */
final class Builds<C, B, W> {
    private static final Logger LOG = LoggerFactory.getLogger(Builds.class);

    private final ProvisioningBackend<C, B, W> backend;
    private final Provisioner.Settings settings;
    private final Failures failures;
    private final Executor io;

    Builds(ProvisioningBackend<C, B, W> backend, Provisioner.Settings settings, Failures failures, Executor io) {
        this.backend = backend;
        this.settings = settings;
        this.failures = failures;
        this.io = io;
    }

    /**
     * A base with the config's clean state: repositories cloned on this side (the base never sees a token), the
     * setup script run, and with a {@code key} its snapshot published (the build then holds a lease on it).
     */
    Build<B> build(C context, WorkspaceConfig config, CacheKey key, boolean background, ProgressListener listener) {
        long start = System.nanoTime();
        CacheStore.Pending pending = key == null ? null : settings.store().begin(key);
        BaseRequest request = new BaseRequest(WorkspaceIds.newId(backend.name()), config,
                key == null ? null : key.hex(), pending == null ? null : pending.generation(),
                pending == null ? null : pending.directory(), background);
        B base = null;
        Path checkouts = null;
        try {
            List<RepositoryState> states;
            if (backend.startsBaseWhileCloning()) {
                CompletableFuture<B> starting = CompletableFuture.supplyAsync(
                        () -> backend.makeBase(context, request, listener), io);
                checkouts = tempDir();
                try {
                    states = cloneAll(config, checkouts, false, listener);
                } catch (RuntimeException e) {
                    starting.handle((b, err) -> {
                        if (b != null) {
                            backend.discardBase(b);
                        }
                        return null;
                    }).join();
                    throw e;
                }
                base = Futures.join(starting);
                copyIn(config, base, checkouts, listener);
            } else {
                base = backend.makeBase(context, request, listener);
                Optional<Path> dir = backend.hostDirectory(base);
                if (dir.isPresent()) {
                    states = cloneAll(config, dir.get(), true, listener);
                } else {
                    checkouts = tempDir();
                    states = cloneAll(config, checkouts, false, listener);
                    copyIn(config, base, checkouts, listener);
                }
            }
            backend.cloned(context, base, states);
            if (!config.setupScript().isBlank()) {
                failures.checkCancelled(listener, config);
                listener.beginTask("setup script", ProgressListener.UNKNOWN);
                ExecResult result = backend.runStep(context, base, config.setupScript(), config);
                listener.endTask();
                if (!result.succeeded()) {
                    throw failures.script("setup script", config, result, backend.stepTimeout());
                }
            }
            failures.checkCancelled(listener, config);
            long setupMs = (System.nanoTime() - start) / 1_000_000;
            CacheStore.Lease lease = null;
            if (pending != null) {
                listener.beginTask("snapshot for the cache", ProgressListener.UNKNOWN);
                Snapshot snapshot = backend.snapshot(base, request);
                listener.endTask();
                Map<String, String> details = new LinkedHashMap<>(snapshot.details());
                details.putIfAbsent("setup_ms", Long.toString(setupMs));
                lease = pending.publish(new CacheEntry(null, null, null, config.name(), states, null, null,
                        snapshot.sizeBytes(), snapshot.payload(), details));
                if (settings.eviction().bounded()) {
                    settings.store().prune(settings.eviction());
                }
            }
            LOG.info("built the clean state of '{}' in {} ms{}", config.name(), setupMs,
                    lease == null ? "" : " (cache entry " + lease.entry().id() + ")");
            return new Build<>(base, states, lease, null);
        } catch (RuntimeException e) {
            if (base != null) {
                backend.discardBase(base);
            }
            throw e;
        } finally {
            if (pending != null) {
                pending.close(); // nothing when published
            }
            if (checkouts != null) {
                FileTrees.deleteQuietly(checkouts);
            }
        }
    }

    /** Clones every repository under {@code dir}: at its path (a host base), else in a numbered directory. */
    private List<RepositoryState> cloneAll(WorkspaceConfig config, Path dir, boolean atPath, ProgressListener listener) {
        List<RepositoryState> states = new ArrayList<>();
        for (int i = 0; i < config.repositories().size(); i++) {
            RepositoryConfig repo = config.repositories().get(i);
            failures.checkCancelled(listener, config);
            listener.beginTask("clone " + repo.path(), ProgressListener.UNKNOWN);
            states.add(settings.git().cloneRepository(repo, atPath ? dir.resolve(repo.path()) : dir.resolve(Integer.toString(i)),
                    listener));
            listener.endTask();
        }
        return states;
    }

    private void copyIn(WorkspaceConfig config, B base, Path checkouts, ProgressListener listener) {
        for (int i = 0; i < config.repositories().size(); i++) {
            RepositoryConfig repo = config.repositories().get(i);
            failures.checkCancelled(listener, config);
            listener.beginTask("copy " + repo.path() + " into the workspace", ProgressListener.UNKNOWN);
            backend.addRepository(base, repo, checkouts.resolve(Integer.toString(i)), listener);
            listener.endTask();
        }
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("derrick-clone-");
        } catch (IOException e) {
            throw new DerrickException("cannot create a temporary directory for cloning: " + e.getMessage(), e);
        }
    }

    /**
     * What a single flight hands its callers: for the leader that built, the base and a lease on the published
     * entry; for everyone else (and a leader that found the entry) only the entry.
     */
    record Build<B>(B base, List<RepositoryState> states, CacheStore.Lease lease, CacheEntry entry) {
        static <B> Build<B> found(CacheEntry entry) {
            return new Build<>(null, List.of(), null, entry);
        }
    }
}
