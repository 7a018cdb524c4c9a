package dev.derrick.api.spi;

import dev.derrick.api.WorkspaceConfig;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What a base is being made for (see {@link ProvisioningBackend#makeBase}).
 *
 * @param workspaceId    the id the workspace made of this base gets (a fresh one for a background rebuild)
 * @param config         the workspace config
 * @param cacheKey       the cache key's hex, {@code null} with the cache off
 * @param generation     the generation the entry will have (to label a payload with), {@code null} with the cache off
 * @param entryDirectory where the payload's files go: the pending cache entry's directory, renamed into place on
 *                       publish; {@code null} with the cache off
 * @param background     whether this is a background rebuild (nobody waits; the base is discarded after publishing)
 */
public record BaseRequest(String workspaceId, WorkspaceConfig config, String cacheKey, String generation, Path entryDirectory,
                          boolean background) {
    public BaseRequest {
        Objects.requireNonNull(workspaceId, "workspaceId");
        Objects.requireNonNull(config, "config");
    }

    /** Whether the base's state will be published as a cache entry. */
    public boolean cached() {
        return cacheKey != null;
    }
}
