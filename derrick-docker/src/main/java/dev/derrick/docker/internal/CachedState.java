package dev.derrick.docker.internal;

import dev.derrick.api.CheckpointNotFoundException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.core.cache.CacheStore;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What a docker workspace knows about its clean state: the image to go back to (the cache entry's, or a commit of its
 * own made when its create had to fetch), its checkpoint images, and its lease on the cache entry. Reset and restore
 * replace the container by one from an image, under the same workspace id; checkpoints are commits.
 */
final class CachedState {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CachedState.class);
    /** Starts a container for an existing workspace (same id and labels) from an image; returns its id. */
    interface ContainerStarter {
        String start(DockerWorkspace workspace, String image);
    }

    /** Runs the engine's reset of a workspace ({@code ProvisioningEngine.reset}). */
    interface Resets {
        void reset(DockerWorkspace workspace, Map<String, String> fetchedSinceClean);
    }

    private final DockerCache cache;
    private final CacheStore.Lease lease;
    private final ContainerStarter starter;
    private final Resets resets;
    private final Map<String, String> checkpoints = new LinkedHashMap<>();
    private volatile String cleanImage;
    private volatile boolean ownCleanImage;
    /**
     * The name of this workspace's own clean image ({@code derrick-checkpoint/<id>:clean}): removed by name, so that
     * a fork's tag of the same image keeps it.
     */
    private volatile String ownCleanTag;
    /** More images (by name) that go with this workspace: a fork's base. */
    private final List<String> alsoRemove = new ArrayList<>();
    /** Per repository path, the commit a {@link #fetch} moved it to since the clean image: where reset returns. */
    private final Map<String, String> fetchedSinceClean = new LinkedHashMap<>();

    /** @param resets the engine's reset, which calls back {@link #restoreClean} and {@link #fetchTo} */
    CachedState(DockerCache cache, CacheStore.Lease lease, ContainerStarter starter, Resets resets) {
        this.resets = resets;
        this.cache = cache;
        this.lease = lease;
        this.starter = starter;
        this.cleanImage = lease == null ? null : lease.entry().payload();
    }

    String cacheEntryId() {
        return lease == null ? null : lease.entry().id();
    }

    /** Makes the workspace's current state its clean state (after a create had to fetch). */
    synchronized void markClean(DockerWorkspace workspace) {
        workspace.markRepositoriesClean();
        String image = cache.commitCheckpoint(workspace.containerId(), workspace.id(), "clean");
        if (ownCleanImage && cleanImage != null && !cleanImage.equals(image)) {
            cache.removeImageIfUnused(cleanImage); // the tag moved to the new one; a fork's tag may still hold it
        }
        cleanImage = image;
        ownCleanImage = true;
        ownCleanTag = "derrick-checkpoint/" + workspace.id() + ":clean";
        discard(spare); // of the former clean image
        spare = null;
    }

    /** Whether a fork can share this state: there is a cache entry to lease and a clean image. */
    boolean canFork() {
        return lease != null && cleanImage != null;
    }

    /**
     * The clean state of a fork {@code forkId}: a lease of its own on the same entry, this clean image (tagged for
     * the fork when it is this workspace's own, so that either can go first), the fetched commits a reset returns to.
     */
    synchronized CachedState forkFor(String forkId, CacheStore.Lease forkLease, String baseTag) {
        CachedState fork = new CachedState(cache, forkLease, starter, resets);
        if (ownCleanImage && cleanImage != null) {
            fork.ownCleanTag = cache.tag(cleanImage, "derrick-checkpoint/" + forkId, "clean");
            fork.cleanImage = cleanImage;
            fork.ownCleanImage = true;
        }
        fork.fetchedSinceClean.putAll(fetchedSinceClean);
        fork.alsoRemove.add(baseTag);
        return fork;
    }

    /** A new lease on this state's cache entry (for a fork). */
    CacheStore.Lease leaseAgain() {
        return cache.store().lease(lease.entry());
    }

    /** A {@code fetch()}: moved repositories are where a later reset returns to. */
    List<RepositoryFetch> fetch(DockerWorkspace workspace, ProgressListener progress) {
        List<RepositoryFetch> results = cache.fetch(workspace.containerExec(),
                tar -> workspace.upload(new ByteArrayInputStream(tar)), workspace.config(),
                p -> workspace.resolve(p, "path"), progress);
        record(workspace, results, java.util.Set.of());
        synchronized (this) {
            results.stream().filter(RepositoryFetch::updated).forEach(f -> fetchedSinceClean.put(f.path(), f.after()));
        }
        return results;
    }

    /** A create's fetch of one repository (the engine records the outcomes with {@link #record}). */
    RepositoryFetch fetchForCreate(DockerWorkspace workspace, RepositoryConfig repo, ProgressListener progress) {
        return cache.fetch(workspace.containerExec(), tar -> workspace.upload(new ByteArrayInputStream(tar)),
                workspace.config(), repo, workspace.resolve(repo.path(), "path"), progress);
    }

    /** Updates the workspace's repository states (for {@code info()}) with fetch outcomes. */
    static void record(DockerWorkspace workspace, List<RepositoryFetch> results, java.util.Set<String> unreachable) {
        List<RepositoryState> states = new ArrayList<>();
        for (RepositoryState old : workspace.repositories()) {
            RepositoryState updated = old;
            for (RepositoryFetch f : results) {
                if (f.path().equals(old.path())) {
                    updated = old.withFetch(f);
                }
            }
            if (unreachable.contains(old.path())) {
                updated = old.unreachable();
            }
            states.add(updated);
        }
        workspace.repositories(states);
    }

    /** Whether {@link #reset} has a clean image to return to. */
    boolean canReset() {
        return cleanImage != null;
    }

    /**
     * Back to the clean image; when a {@link #fetch} moved repositories since, the engine returns them to the
     * fetched commits and runs the update script ({@link dev.derrick.api.spi.ProvisioningEngine#reset}).
     */
    void reset(DockerWorkspace workspace) {
        Map<String, String> moved;
        synchronized (this) {
            moved = Map.copyOf(fetchedSinceClean);
            fetchedSinceClean.clear();
        }
        resets.reset(workspace, moved);
    }

    /**
     * The engine's first step of a reset: a container from the clean image under the same id — the spare one started
     * after the previous reset when there is one (a reset then costs a swap, not a container start), else a new one.
     * Either way a spare for the next reset starts in the background, and the old container is removed there too.
     */
    synchronized void restoreClean(DockerWorkspace workspace) {
        if (cleanImage == null) {
            throw new OperationNotSupportedException("reset needs the provisioning cache; it is off (option 'cache')");
        }
        List<RepositoryState> cleanStates = workspace.repositoriesAtClean();
        String next = takeSpare(cleanImage);
        if (next == null) {
            next = starter.start(workspace, cleanImage);
        }
        String old = workspace.swapContainer(next, false);
        if (old != null) {
            SPARES.execute(() -> cache.removeContainerQuietly(old));
        }
        workspace.repositories(cleanStates);
        prepareSpare(workspace);
    }

    /** A container of a clean image started ahead of the next reset. */
    private record Spare(String image, java.util.concurrent.CompletableFuture<String> container) {
    }

    /** Starts spares and removes replaced containers, off the caller's thread. */
    private static final java.util.concurrent.ExecutorService SPARES = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "derrick-docker-spare");
        t.setDaemon(true);
        return t;
    });

    private Spare spare;

    /** The spare's container when it is of {@code image} and starts (waiting for it is still the quicker way). */
    private String takeSpare(String image) {
        Spare s = spare;
        spare = null;
        if (s == null) {
            return null;
        }
        if (!s.image().equals(image)) {
            discard(s);
            return null;
        }
        try {
            return s.container().get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debug("the spare container did not start ({}); starting one now", e.getMessage());
            discard(s);
            return null;
        }
    }

    private void prepareSpare(DockerWorkspace workspace) {
        String image = cleanImage;
        discard(spare);
        spare = new Spare(image, java.util.concurrent.CompletableFuture.supplyAsync(
                () -> starter.start(workspace, image), SPARES));
    }

    private void discard(Spare s) {
        if (s != null) {
            s.container().whenComplete((id, e) -> {
                if (id != null) {
                    cache.removeContainerQuietly(id);
                }
            });
        }
    }

    /**
     * Fast-forwards a repository to a commit an earlier {@link #fetch} moved it to (a bundle from the mirror, which
     * kept it: no network).
     */
    RepositoryFetch fetchTo(DockerWorkspace workspace, RepositoryConfig repo, String commit) {
        return cache.fastForwardTo(workspace.containerExec(), tar -> workspace.upload(new ByteArrayInputStream(tar)),
                workspace.config(), repo, workspace.resolve(repo.path(), "path"), commit);
    }

    synchronized String checkpoint(DockerWorkspace workspace) {
        String id = "cp-" + UUID.randomUUID().toString().substring(0, 8);
        checkpoints.put(id, cache.commitCheckpoint(workspace.containerId(), workspace.id(), id));
        return id;
    }

    synchronized void restore(DockerWorkspace workspace, String checkpointId) {
        String image = checkpoints.get(checkpointId);
        if (image == null) {
            throw new CheckpointNotFoundException(checkpointId, "no checkpoint '" + checkpointId + "' in workspace '" + workspace.id()
                    + "'; known: " + checkpoints.keySet());
        }
        workspace.swapContainer(starter.start(workspace, image));
    }

    /** Removes checkpoint images and the workspace's own clean image, and releases the cache entry. */
    synchronized void close() {
        discard(spare);
        spare = null;
        checkpoints.values().forEach(cache::removeImageQuietly);
        checkpoints.clear();
        if (ownCleanImage && cleanImage != null) {
            cache.removeImageQuietly(ownCleanTag != null ? ownCleanTag : cleanImage);
        }
        alsoRemove.forEach(cache::removeImageQuietly);
        alsoRemove.clear();
        if (lease != null) {
            lease.close();
        }
    }
}
