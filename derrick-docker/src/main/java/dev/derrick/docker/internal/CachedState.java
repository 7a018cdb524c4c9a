package dev.derrick.docker.internal;

import dev.derrick.api.CheckpointNotFoundException;
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

    CachedState(DockerCache cache, CacheStore.Lease lease, ContainerStarter starter) {
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
        String image = cache.commitCheckpoint(workspace.containerId(), workspace.id(), "clean");
        if (ownCleanImage && cleanImage != null && !cleanImage.equals(image)) {
            cache.removeImageQuietly(cleanImage);
        }
        cleanImage = image;
        ownCleanImage = true;
    }

    List<RepositoryFetch> fetch(DockerWorkspace workspace, ProgressListener progress) {
        List<RepositoryFetch> results = cache.fetch(workspace.containerExec(),
                tar -> workspace.upload(new ByteArrayInputStream(tar)), workspace.config(),
                p -> workspace.resolve(p, "path"), progress);
        List<RepositoryState> states = new ArrayList<>();
        for (RepositoryState old : workspace.repositories()) {
            RepositoryState updated = old;
            for (RepositoryFetch f : results) {
                if (f.path().equals(old.path()) && f.after() != null) {
                    updated = new RepositoryState(old.path(), old.url(), f.after(), old.branch());
                }
            }
            states.add(updated);
        }
        workspace.repositories(states);
        return results;
    }

    synchronized void reset(DockerWorkspace workspace) {
        if (cleanImage == null) {
            throw new OperationNotSupportedException("reset needs the provisioning cache; it is off (option 'cache')");
        }
        workspace.swapContainer(starter.start(workspace, cleanImage));
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
