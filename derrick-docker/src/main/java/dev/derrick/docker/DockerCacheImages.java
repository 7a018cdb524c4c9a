package dev.derrick.docker;

import com.github.dockerjava.api.model.Image;
import dev.derrick.docker.internal.DockerCache;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.docker.internal.DockerSettings;

import java.nio.file.Path;
import java.util.Map;

/**
 * The docker provider's cache images, for tools outside the provider: the {@code derrick cache} command removes
 * the image of an evicted entry, benchmarks remove what they cached. The engine is the one the provider would use
 * with no options: {@code DOCKER_HOST} and friends from {@code environment}.
 */
public final class DockerCacheImages {
    private DockerCacheImages() {
    }

    /**
     * Removes one image (forced).
     *
     * @throws RuntimeException when the engine is unreachable or refuses
     */
    public static void remove(String imageId, Map<String, String> environment) {
        try (DockerEngine engine = DockerEngine.connect(DockerSettings.parse(Map.of(), environment))) {
            engine.client().removeImageCmd(imageId).withForce(true).exec();
        }
    }

    /**
     * Removes every cache image the docker provider made for the cache directory {@code cacheDir} (the one given as
     * {@code cache_dir}, whose {@code docker} subdirectory the provider uses); returns how many.
     *
     * @throws RuntimeException when the engine is unreachable or refuses
     */
    public static int removeAll(Path cacheDir, Map<String, String> environment) {
        String label = cacheDir.toAbsolutePath().normalize().resolve("docker").toString();
        int removed = 0;
        try (DockerEngine engine = DockerEngine.connect(DockerSettings.parse(Map.of(), environment))) {
            for (Image image : engine.client().listImagesCmd()
                    .withLabelFilter(Map.of(DockerCache.LABEL_CACHE_DIR, label)).exec()) {
                engine.client().removeImageCmd(image.getId()).withForce(true).exec();
                removed++;
            }
        }
        return removed;
    }
}
