package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Removes containers by their labels: those of dead derrick processes (with their workspaces' checkpoint images), and
 * this session's on close.
 */
final class DockerReaper {
    private static final Logger LOG = LoggerFactory.getLogger(DockerReaper.class);

    private final DockerClient client;
    private final String session;
    private final Owner owner;
    private final DockerCache cache;
    private final Set<String> detached;

    /** @param detached ids of detached workspaces: their containers carry this session but are not removed with it */
    DockerReaper(DockerClient client, String session, Owner owner, DockerCache cache, Set<String> detached) {
        this.client = client;
        this.session = session;
        this.owner = owner;
        this.cache = cache;
        this.detached = detached;
    }

    /**
     * Removes containers of derrick sessions whose owner process is gone (killed, or ended with detached workspaces),
     * and the checkpoint images of their workspaces. Returns how many containers.
     */
    int reapOrphans() {
        int removed = 0;
        try {
            List<Container> containers = client.listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(Containers.LABEL_MANAGED, "true")).exec();
            for (Container c : containers) {
                Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
                if (session.equals(labels.get(Containers.LABEL_SESSION)) || !owner.isDeadOwner(labels)) {
                    continue;
                }
                LOG.info("removing orphaned container {} (workspace {}, owner pid {} on {} is gone)",
                        c.getId().substring(0, 12), labels.get(Containers.LABEL_WORKSPACE), labels.get(Owner.LABEL_PID),
                        labels.get(Owner.LABEL_HOST));
                DockerWorkspace.removeContainer(client, c.getId());
                String workspace = labels.get(Containers.LABEL_WORKSPACE);
                if (workspace != null) {
                    removeCheckpointImages(workspace);
                }
                removed++;
            }
        } catch (RuntimeException e) {
            LOG.warn("could not look for orphaned containers: {}", DockerEngine.reason(e));
        }
        return removed;
    }

    private void removeCheckpointImages(String workspaceId) {
        try {
            for (var image : client.listImagesCmd().withLabelFilter(Map.of(DockerCache.LABEL_CHECKPOINT, workspaceId)).exec()) {
                cache.removeImageQuietly(image.getId());
            }
        } catch (RuntimeException e) {
            LOG.warn("could not remove the checkpoint images of workspace {}: {}", workspaceId, DockerEngine.reason(e));
        }
    }

    /** Removes every container labelled with this session, except those of detached workspaces. */
    void removeSessionContainers() {
        try {
            List<Container> containers = client.listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(Containers.LABEL_SESSION, session)).exec();
            for (Container c : containers) {
                Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
                if (detached.contains(labels.get(Containers.LABEL_WORKSPACE))) {
                    continue;
                }
                DockerWorkspace.removeContainer(client, c.getId());
            }
        } catch (RuntimeException e) {
            LOG.warn("could not remove the containers of session {}: {}", session, DockerEngine.reason(e));
        }
    }
}
