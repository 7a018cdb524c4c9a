package dev.derrick.docker;

import dev.derrick.docker.internal.DockerEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.derrick.docker.DockerTestSupport.BUSYBOX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Testcontainers' ResourceReaperTest as the model: a child JVM makes containers and dies without cleaning up; the
 * next provider start (or, on a normal exit, the shutdown hook) removes them.
 */
@Timeout(180)
class DockerReaperIT {
    static DockerEngine raw;

    @BeforeAll
    static void setUp() {
        DockerTestSupport.requireEngine();
        raw = DockerTestSupport.rawEngine();
    }

    @AfterAll
    static void tearDown() {
        if (raw != null) {
            raw.close();
        }
    }

    @Test
    void aNewProviderRemovesTheContainersOfAKilledOne(@TempDir Path tmp) throws Exception {
        Process child = startChild("wait", tmp);
        try {
            List<String> ids = readIds(child, tmp);
            for (String id : ids) {
                assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", id)).hasSize(1);
            }
            child.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            for (String id : ids) {
                assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", id))
                        .as("the killed child left its containers").hasSize(1);
            }
            try (DockerWorkspaceProvider next = DockerWorkspaceProvider.open(Map.of())) {
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                    for (String id : ids) {
                        assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", id)).isEmpty();
                    }
                });
            }
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void theShutdownHookRemovesContainersWhenTheJvmExitsWithoutClosing(@TempDir Path tmp) throws Exception {
        Process child = startChild("exit", tmp);
        try {
            List<String> ids = readIds(child, tmp);
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                for (String id : ids) {
                    assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", id)).isEmpty();
                }
            });
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aDetachedWorkspacesContainerOutlivesItsJvmAndTheNextProviderRemovesIt(@TempDir Path tmp) throws Exception {
        Process child = startChild("detach", tmp);
        try {
            List<String> ids = readIds(child, tmp);
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String kept = ids.get(0);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                    DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", ids.get(1))).isEmpty());
            List<com.github.dockerjava.api.model.Container> containers =
                    DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", kept);
            assertThat(containers).as("neither provider close nor the shutdown hook removed it").singleElement()
                    .satisfies(c -> assertThat(c.getState()).isEqualTo("running"));
            String container = containers.get(0).getId();
            assertThat(execIn(container, "cat /evidence.txt"))
                    .isEqualTo("kept by detach");
            assertThat(execIn(container, "ps -o args | grep -c '[s]leep 600' || true")).as("detach ended its commands")
                    .isEqualTo("0");
            assertThat(checkpointImages(kept)).as("its checkpoint stays with it").isNotEmpty();

            try (DockerWorkspaceProvider next = DockerWorkspaceProvider.open(Map.of())) {
                assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", kept))
                        .as("reaped as an orphan, its JVM being gone").isEmpty();
                assertThat(checkpointImages(kept)).isEmpty();
                assertThat(next.list()).isEmpty();
            }
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aDetachedWorkspaceIsLeftAloneByProviderCloseAndByProvidersOfTheSameJvm() {
        String id;
        try (DockerWorkspaceProvider first = DockerWorkspaceProvider.open(Map.of("cache", "false"))) {
            var ws = first.create(dev.derrick.api.WorkspaceConfig.builder("detached").image(BUSYBOX).build());
            id = ws.id();
            ws.detach();
            ws.detach(); // idempotent
            assertThat(first.list()).isEmpty();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> ws.exec("true"))
                    .isInstanceOf(dev.derrick.api.WorkspaceNotFoundException.class).hasMessageContaining("detached");
            ws.close(); // a no-op now
        }
        try {
            assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", id)).hasSize(1);
            try (DockerWorkspaceProvider second = DockerWorkspaceProvider.open(Map.of("cache", "false"))) {
                assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", id))
                        .as("its owner, this JVM, still runs").hasSize(1);
            }
        } finally {
            for (var c : DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", id)) {
                raw.client().removeContainerCmd(c.getId()).withForce(true).exec();
            }
        }
    }

    private static String execIn(String container, String command) {
        var result = new dev.derrick.docker.internal.ContainerExec(raw.client(), container)
                .runInternal(List.of("/bin/sh", "-c", command), Duration.ofSeconds(30));
        return result.stdout().strip();
    }

    private static List<com.github.dockerjava.api.model.Image> checkpointImages(String workspace) {
        return raw.client().listImagesCmd().withLabelFilter(Map.of("derrick.checkpoint", workspace)).exec();
    }

    @Test
    void containersOfALiveOwnerAreLeftAlone() {
        try (DockerWorkspaceProvider first = DockerWorkspaceProvider.open(Map.of());
             var ws = first.create(dev.derrick.api.WorkspaceConfig.builder("alive").image(BUSYBOX).build());
             DockerWorkspaceProvider second = DockerWorkspaceProvider.open(Map.of())) {
            assertThat(second.reapOrphans()).isGreaterThanOrEqualTo(0);
            assertThat(ws.exec("echo still here").stdout()).isEqualTo("still here\n");
        }
    }

    private static Process startChild(String mode, Path tmp) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", OrphanMaker.class.getName(), BUSYBOX, mode)
                .redirectError(tmp.resolve("child.err").toFile())
                .start();
    }

    private static List<String> readIds(Process child, Path tmp) throws Exception {
        BufferedReader reader = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return reader.readLine();
            } catch (java.io.IOException e) {
                return null;
            }
        }).get(120, TimeUnit.SECONDS);
        assertThat(line).as("child output; its stderr: %s", Files.exists(tmp.resolve("child.err"))
                ? Files.readString(tmp.resolve("child.err")) : "").startsWith("READY ");
        return List.of(line.substring("READY ".length()).split(" "));
    }
}
