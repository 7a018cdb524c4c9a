package org.example.derrick.sandbox;

import dev.derrick.tck.CachedWorkspaceContract;

import java.nio.file.Path;
import java.util.Map;

/**
 * The cache's freshness contract against the sandbox backend: the engine's create-time fetch (through the backend's
 * {@code fetch}), the WARN and {@code info()} for a stale or unreachable repository, {@code require_fresh}, and a
 * reset that keeps what a {@code fetch()} brought. None of that is code in this backend but its {@code git fetch}.
 */
class SandboxCachedWorkspaceIT extends CachedWorkspaceContract {
    @Override
    protected String providerName() {
        return SandboxProviderFactory.NAME;
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment, Path cacheDir) {
        return Map.of("environment", environment, "root", cacheDir.resolveSibling(cacheDir.getFileName() + "-root").toString(),
                "cache_dir", cacheDir.toString());
    }
}
