package dev.derrick.docker;

import com.github.dockerjava.api.model.Image;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.docker.internal.DockerCache;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.tck.CachedWorkspaceContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Freshness of cached workspaces (stale-cache scenarios, fetch then reset) against the real Docker engine, on the
 * Debian test image (git in the container: commits arrive as bundles from the provider-side mirrors).
 */
class DockerCachedWorkspaceIT extends CachedWorkspaceContract {
    private DockerEngine raw;

    @BeforeAll
    void requireEngine() {
        DockerTestSupport.requireEngine();
        raw = DockerTestSupport.rawEngine();
    }

    @AfterAll
    void closeRaw() {
        if (raw != null) {
            raw.close();
        }
    }

    @Override
    protected String providerName() {
        return "docker";
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment, Path cacheDir) {
        Map<String, String> env = new HashMap<>(DockerTestSupport.providerEnv());
        env.putAll(environment);
        return DockerTestSupport.options("environment", env, "root", "/workspace", "cache", "true",
                "cache_dir", cacheDir.toString());
    }

    @Override
    protected WorkspaceConfig.Builder customize(WorkspaceConfig.Builder builder) {
        return builder.image(DockerTestSupport.DEBIAN);
    }

    /** The cache images of this test's cache directory go with it. */
    @Override
    protected void removeCache(Path cacheDir) {
        String store = cacheDir.toAbsolutePath().normalize().resolve(DockerCache.BACKEND).toString();
        for (Image image : raw.client().listImagesCmd().withLabelFilter(Map.of(DockerCache.LABEL_CACHE_DIR, store)).exec()) {
            try {
                raw.client().removeImageCmd(image.getId()).withForce(true).exec();
            } catch (RuntimeException e) {
                // still used by a container being removed: the next provider start collects it
            }
        }
    }
}
