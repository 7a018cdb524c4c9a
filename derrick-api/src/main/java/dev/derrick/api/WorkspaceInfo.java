package dev.derrick.api;

import java.time.Instant;
import java.util.List;

/**
 * A description of a live workspace, safe to show: it never holds a token.
 *
 * @param id           the workspace id
 * @param provider     the provider's name
 * @param configName   the workspace config's name
 * @param root         the root directory (a host path for {@code local}, a container path for {@code docker})
 * @param created      when it was created
 * @param repositories its repositories with their commits
 * @param cacheEntry   the cache entry it was made from, or {@code null}
 */
public record WorkspaceInfo(String id, String provider, String configName, String root, Instant created,
                            List<RepositoryState> repositories, String cacheEntry) {
    /** Copies the repository list. */
    public WorkspaceInfo {
        repositories = List.copyOf(repositories == null ? List.of() : repositories);
    }
}
