package dev.derrick.docker;

import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.docker.internal.DockerEngine;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Resets after the first swap in a spare container started ahead (from the clean image): every reset is still a
 * clean state, exactly one spare exists at a time, and nothing is left after close.
 */
@Timeout(180)
class DockerResetSpareIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void requireEngine() {
        DockerTestSupport.requireEngine();
    }

    @Test
    void everyResetIsCleanOneSpareWaitsAndCloseLeavesNoContainer() throws Exception {
        WorkspaceConfig config = WorkspaceConfig.builder("spare-" + UUID.randomUUID().toString().substring(0, 8))
                .image(DockerTestSupport.BUSYBOX).setupScript("echo built > /workspace/built.txt").build();
        try (DockerEngine raw = DockerTestSupport.rawEngine();
             WorkspaceProvider provider = WorkspaceProviders.open("docker", DockerTestSupport.options(
                     "environment", DockerTestSupport.providerEnv(), "root", "/workspace",
                     "cache_dir", tmp.resolve("cache").toString()))) {
            Workspace ws = provider.create(config);
            for (int i = 0; i < 4; i++) {
                ws.writeString("scratch-" + i + ".txt", "x");
                ws.exec("rm /workspace/built.txt; echo changed > /tmp/t");
                ws.reset();
                assertThat(ws.readString("built.txt")).isEqualTo("built\n");
                assertThat(ws.exists("scratch-" + i + ".txt")).isFalse();
                assertThat(ws.exec("test -e /tmp/t && echo dirty || echo clean").stdout()).isEqualTo("clean\n");
            }
            Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", ws.id()))
                            .as("the workspace's container and one spare; replaced ones are removed").hasSize(2));
            ws.close();
            Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", ws.id())).isEmpty());
            String store = tmp.resolve("cache").toAbsolutePath().normalize().resolve("docker").toString();
            for (var image : raw.client().listImagesCmd().withLabelFilter(
                    Map.of(dev.derrick.docker.internal.DockerCache.LABEL_CACHE_DIR, store)).exec()) {
                raw.client().removeImageCmd(image.getId()).withForce(true).exec();
            }
        }
    }
}
