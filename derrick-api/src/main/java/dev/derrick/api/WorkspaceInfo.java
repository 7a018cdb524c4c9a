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
 * @param isolation    how its commands are isolated, as the provider names it; the first word is the mode
 *                     ({@code sandbox} or {@code none} for {@code local} — a sandbox adds its network and limits in
 *                     parentheses, e.g. {@code sandbox (network setup on (…), commands off (…))} — and
 *                     {@code container} for {@code docker}), or {@code null} when the provider does not say
 */
public record WorkspaceInfo(String id, String provider, String configName, String root, Instant created,
                            List<RepositoryState> repositories, String cacheEntry, String isolation) {
    /** Copies the repository list. */
    public WorkspaceInfo {
        repositories = List.copyOf(repositories == null ? List.of() : repositories);
    }

    /** Without an isolation statement. */
    public WorkspaceInfo(String id, String provider, String configName, String root, Instant created,
                         List<RepositoryState> repositories, String cacheEntry) {
        this(id, provider, configName, root, created, repositories, cacheEntry, null);
    }
}
