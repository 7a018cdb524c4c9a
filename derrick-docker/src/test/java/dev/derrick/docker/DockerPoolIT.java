package dev.derrick.docker;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.pool.WorkspacePool;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** The warm pool in front of the docker provider: real engine, Debian image with git, token-protected git server. */
@Timeout(240)
class DockerPoolIT {
    static final String TOKEN = "tok-" + UUID.randomUUID();
    static GitTestServer server;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        DockerTestSupport.requireEngine();
        server = GitTestServer.start(TOKEN);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aClaimIsAReadyContainerAtTheRemotesCommitWithTheCreatesEnvInItsCommands() throws Exception {
        String repo = "pool-" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(repo, Map.of("README.md", "v1\n"));
        WorkspaceConfig config = WorkspaceConfig.builder("docker-pool-it").image(DockerTestSupport.DEBIAN)
                .repository(RepositoryConfig.of(server.url(repo), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo \"[$MODEL]\" > /workspace/setup-env.txt").build();
        Map<String, String> env = new HashMap<>(DockerTestSupport.providerEnv());
        env.put("GIT_TOKEN", TOKEN);
        try (WorkspacePool pool = (WorkspacePool) WorkspaceProviders.open("docker", DockerTestSupport.options(
                "environment", env, "root", "/workspace", "cache_dir", tmp.resolve("cache").toString(), "pool", 1))) {
            Workspace first = pool.create(config);
            pool.awaitIdle(Duration.ofSeconds(120));
            assertThat(pool.stats().ready()).isEqualTo(1);
            assertThat(pool.list()).extracting(Workspace::id).containsExactly(first.id());

            Workspace second = pool.create(config, Map.of("MODEL", "b"), null);
            assertThat(pool.stats().hits()).isEqualTo(1);
            assertThat(second.exec("cat /workspace/setup-env.txt; echo \"$MODEL\"; cat /workspace/code/app/README.md")
                    .stdout()).isEqualTo("[]\nb\nv1\n");

            pool.awaitIdle(Duration.ofSeconds(120));
            server.commit(repo, Map.of("README.md", "v2\n"), "upstream moved");
            Workspace third = pool.create(config);
            assertThat(pool.stats().stale()).as("the ready one was behind").isEqualTo(1);
            assertThat(third.readString("code/app/README.md")).isEqualTo("v2\n");
        }
        try (DockerEngine raw = DockerTestSupport.rawEngine()) {
            assertThat(raw.client().listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of("derrick.config", "docker-pool-it")).exec())
                    .as("closing the pool removes its ready containers").isEmpty();
            String store = tmp.resolve("cache").toAbsolutePath().normalize().resolve("docker").toString();
            for (var image : raw.client().listImagesCmd().withLabelFilter(
                    Map.of(dev.derrick.docker.internal.DockerCache.LABEL_CACHE_DIR, store)).exec()) {
                raw.client().removeImageCmd(image.getId()).withForce(true).exec(); // this test's cache goes with it
            }
        }
    }
}
