package dev.derrick.api.spi;

import dev.derrick.api.RepositoryState;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A published cache entry, leased: it is not evicted until {@link #close()}. The engine hands one to
 * {@link ProvisioningBackend#instantiate} or {@link ProvisioningBackend#adopt}; the workspace made from it owns it and
 * closes it when the workspace goes.
 */
public interface CachedSnapshot extends AutoCloseable {
    /** {@code key.generation}: the entry's id, as {@code info().cacheEntry()} reports it. */
    String id();

    /** The cache key's hex. */
    String key();

    /** The entry's generation (successive builds of one key). */
    String generation();

    /** What {@link Snapshot#payload()} said. */
    String payload();

    /** The entry's directory: the files the base wrote under {@link BaseRequest#entryDirectory()} are here now. */
    Path directory();

    /** The repositories as the entry was built. */
    List<RepositoryState> repositories();

    /** What {@link Snapshot#details()} said. */
    Map<String, String> details();

    /** The commit a repository at {@code path} was built at, or {@code null}. */
    default String commitOf(String path) {
        return repositories().stream().filter(r -> r.path().equals(path)).map(RepositoryState::commit).findFirst()
                .orElse(null);
    }

    /** Releases the lease. Idempotent. */
    @Override
    void close();
}
