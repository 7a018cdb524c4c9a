package dev.derrick.core.provision;

import dev.derrick.api.RepositoryState;
import dev.derrick.api.spi.CachedSnapshot;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheStore;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A {@link CachedSnapshot} on a {@link CacheStore.Lease}. */
public final class LeasedSnapshot implements CachedSnapshot {
    private final CacheStore.Lease lease;

    public LeasedSnapshot(CacheStore.Lease lease) {
        this.lease = lease;
    }

    /** The lease itself (for in-repo backends built on {@link CacheStore}). */
    public CacheStore.Lease lease() {
        return lease;
    }

    /** The entry's metadata (for in-repo backends that show more than the SPI carries). */
    public CacheEntry entry() {
        return lease.entry();
    }

    @Override
    public String id() {
        return lease.entry().id();
    }

    @Override
    public String key() {
        return lease.entry().key();
    }

    @Override
    public String generation() {
        return lease.entry().generation();
    }

    @Override
    public String payload() {
        return lease.entry().payload();
    }

    @Override
    public Path directory() {
        return lease.directory();
    }

    @Override
    public List<RepositoryState> repositories() {
        return lease.entry().repositories();
    }

    @Override
    public Map<String, String> details() {
        return lease.entry().details();
    }

    @Override
    public void close() {
        lease.close();
    }

    @Override
    public String toString() {
        return id();
    }
}
