package dev.derrick.api.spi;

import java.util.Map;
import java.util.Objects;

/**
 * What {@link ProvisioningBackend#snapshot} captured: the cache entry's payload as the backend knows it.
 *
 * @param payload   backend-specific pointer: a directory name under the entry directory, an image id…
 * @param sizeBytes its size, for the cache's size bound
 * @param details   further facts shown by {@code derrick cache list} (free form, never secrets)
 */
public record Snapshot(String payload, long sizeBytes, Map<String, String> details) {
    public Snapshot {
        Objects.requireNonNull(payload, "payload");
        details = Map.copyOf(details == null ? Map.of() : details);
    }
}
