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
