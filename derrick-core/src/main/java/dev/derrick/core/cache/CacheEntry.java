package dev.derrick.core.cache;

import dev.derrick.api.RepositoryState;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What a cache entry holds, persisted as {@code entry.json} beside the entry's payload. It never holds a token: the
 * repositories' URLs are the config's (credential-free) URLs.
 *
 * @param key          the {@link CacheKey} hex
 * @param generation   distinguishes successive builds of one key (sortable: newest is greatest)
 * @param backend      the backend that built it
 * @param configName   the workspace config's name
 * @param repositories per repository, the commit it was built at
 * @param created      when the setup finished
 * @param lastUsed     when a workspace was last made from it
 * @param sizeBytes    its size on disk (snapshot bytes, image size)
 * @param payload      backend-specific pointer: {@code snapshot} (a directory beside this file), an image name…
 * @param details      further backend-specific facts (free form, never secrets)
 */
public record CacheEntry(String key, String generation, String backend, String configName,
                         List<RepositoryState> repositories, Instant created, Instant lastUsed, long sizeBytes,
                         String payload, Map<String, String> details) {
    public CacheEntry {
        repositories = List.copyOf(repositories == null ? List.of() : repositories);
        details = Map.copyOf(details == null ? Map.of() : details);
    }

    /** The key as a {@link CacheKey}. */
    public CacheKey cacheKey() {
        return new CacheKey(key);
    }

    /** {@code key.generation}: unique id of this entry (also its directory name). */
    public String id() {
        return key + "." + generation;
    }

    /** A copy used at {@code when}. */
    public CacheEntry withLastUsed(Instant when) {
        return new CacheEntry(key, generation, backend, configName, repositories, created, when, sizeBytes, payload, details);
    }

    /** A copy with another size. */
    public CacheEntry withSizeBytes(long size) {
        return new CacheEntry(key, generation, backend, configName, repositories, created, lastUsed, size, payload, details);
    }

    /** The commit a repository at {@code path} was built at, or {@code null}. */
    public String commitOf(String path) {
        return repositories.stream().filter(r -> r.path().equals(path)).map(RepositoryState::commit).findFirst().orElse(null);
    }
}
