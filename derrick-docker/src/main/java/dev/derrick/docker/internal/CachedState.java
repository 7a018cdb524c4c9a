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

    private final DockerCache cache;
    private final CacheStore.Lease lease;
    private final ContainerStarter starter;
    private final Map<String, String> checkpoints = new LinkedHashMap<>();
    private volatile String cleanImage;
    private volatile boolean ownCleanImage;
    private final java.time.Duration scriptTimeout;
    /** Per repository path, the commit a {@link #fetch} moved it to since the clean image: where reset returns. */
    private final Map<String, String> fetchedSinceClean = new LinkedHashMap<>();

    /** @param scriptTimeout how long an update script may run after a reset returned to fetched commits */
    CachedState(DockerCache cache, CacheStore.Lease lease, ContainerStarter starter, java.time.Duration scriptTimeout) {
        this.scriptTimeout = scriptTimeout;
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
            cache.removeImageQuietly(cleanImage);
        }
        cleanImage = image;
        ownCleanImage = true;
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

    synchronized void reset(DockerWorkspace workspace) {
        if (cleanImage == null) {
            throw new OperationNotSupportedException("reset needs the provisioning cache; it is off (option 'cache')");
        }
        List<RepositoryState> cleanStates = workspace.repositoriesAtClean();
        workspace.swapContainer(starter.start(workspace, cleanImage));
        workspace.repositories(cleanStates);
        if (!fetchedSinceClean.isEmpty()) {
            reapplyFetches(workspace);
        }
    }

    /**
     * After a reset: fast-forwards the repositories an earlier {@link #fetch} moved to exactly the commits it moved
     * them to (bundles from the mirrors, which kept them: no network), runs the update script and commits that as the
     * clean image, as a create that fetched does.
     */
    private void reapplyFetches(DockerWorkspace workspace) {
        WorkspaceConfig config = workspace.config();
        List<RepositoryFetch> results = new ArrayList<>();
        for (Map.Entry<String, String> target : fetchedSinceClean.entrySet()) {
            RepositoryConfig repo = config.repositories().stream().filter(r -> r.path().equals(target.getKey()))
                    .findFirst().orElseThrow();
            RepositoryFetch f = cache.fastForwardTo(workspace.containerExec(), tar -> workspace.upload(new ByteArrayInputStream(tar)),
                    config, repo, workspace.resolve(repo.path(), "path"), target.getValue());
            if (!f.updated() && !target.getValue().equals(f.after())) {
                LOG.warn("{}: reset could not return {} to the fetched commit {} ({}); it stays at {}", config.name(),
                        repo.displayName(), target.getValue(), f.status(), f.after());
            }
            results.add(f);
        }
        record(workspace, results, java.util.Set.of());
        fetchedSinceClean.clear();
        if (results.stream().noneMatch(RepositoryFetch::updated)) {
            return;
        }
        if (config.updateScript() != null) {
            ExecResult r = workspace.runScript(config.updateScript(), scriptTimeout);
            if (!r.succeeded()) {
                throw new DerrickException("reset of workspace '" + workspace.id() + "': the update script after returning"
                        + " to the fetched commits " + (r.timedOut() ? "timed out" : "exited with " + r.exitCode()));
            }
        }
        markClean(workspace);
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
        checkpoints.values().forEach(cache::removeImageQuietly);
        checkpoints.clear();
        if (ownCleanImage && cleanImage != null) {
            cache.removeImageQuietly(cleanImage);
        }
        if (lease != null) {
            lease.close();
        }
    }
}
