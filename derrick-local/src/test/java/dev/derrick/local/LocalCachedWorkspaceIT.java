package dev.derrick.local;

import dev.derrick.tck.CachedWorkspaceContract;
import org.junit.jupiter.api.AfterAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Freshness of cached workspaces (stale-cache scenarios, fetch then reset) against the local provider. */
class LocalCachedWorkspaceIT extends CachedWorkspaceContract {
    final Path root = createRoot();

    static Path createRoot() {
        try {
            return Files.createTempDirectory("derrick-local-fresh");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    protected String providerName() {
        return "local";
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment, Path cacheDir) {
        return Map.of("environment", environment, "root", root.toString(), "cache", "true", "cache_dir", cacheDir.toString());
    }

    @AfterAll
    void removeRoot() {
        dev.derrick.local.internal.TreeDeleter.delete(root);
    }
}
