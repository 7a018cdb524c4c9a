package dev.derrick.docker;

import dev.derrick.api.Capability;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Workspace#fork(int)} on the real engine: one commit, n containers, clean images shared by tags. */
@Timeout(300)
class DockerForkIT {
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

    /** Counts processes running {@code sleep 3017} through /proc (the image has no ps). */
    static final String COUNT_SLEEPERS = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done"
            + " | grep -c '^sleep 301[7]' || true";

    @Test
    void forksHaveTheFilesNotTheProcessesAndKeepACleanStateTheirSourceOwnedAfterItIsGone() throws Exception {
        String repo = "fork-" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(repo, Map.of("README.md", "v1\n"));
        String name = "docker-fork-" + repo;
        WorkspaceConfig config = WorkspaceConfig.builder(name).image(DockerTestSupport.DEBIAN)
                .repository(RepositoryConfig.of(server.url(repo), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo built > /workspace/built.txt").build();
        Map<String, String> env = new HashMap<>(DockerTestSupport.providerEnv());
        env.put("GIT_TOKEN", TOKEN);
        List<String> ids = new java.util.ArrayList<>();
        try (WorkspaceProvider provider = WorkspaceProviders.open("docker", DockerTestSupport.options(
                "environment", env, "root", "/workspace", "cache_dir", tmp.resolve("cache").toString()))) {
            provider.create(config).close(); // the cache entry at v1
            server.commit(repo, Map.of("README.md", "v2\n"), "upstream moved");
            // fetched at create: its clean state is an image of its own (v2), not the entry's
            Workspace source = provider.create(config);
            assertThat(source.capabilities()).contains(Capability.FORK);
            assertThat(source.readString("code/app/README.md")).isEqualTo("v2\n");
            source.exec("echo edited > /workspace/code/app/README.md; echo notes > /tmp/notes.txt");
            var sleeper = source.start(ExecRequest.of("exec sleep 3017"));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> source.exec(COUNT_SLEEPERS).stdout().strip().equals("1"));
            assertThat(sleeper.info().running()).isTrue();

            List<Workspace> forks = source.fork(2);
            ids.add(source.id());
            forks.forEach(f -> ids.add(f.id()));
            assertThat(forks).extracting(Workspace::id).doesNotHaveDuplicates().doesNotContain(source.id());
            for (Workspace f : forks) {
                assertThat(f.exec("cat /workspace/code/app/README.md /tmp/notes.txt /workspace/built.txt").stdout())
                        .isEqualTo("edited\nnotes\nbuilt\n");
                assertThat(f.exec(COUNT_SLEEPERS).stdout().strip())
                        .as("processes are not forked").isEqualTo("0");
                assertThat(provider.find(f.id())).isPresent();
            }
            assertThat(source.exec(COUNT_SLEEPERS).stdout().strip())
                    .as("the source's processes go on: %s", source.exec("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done").stdout())
                    .isEqualTo("1");
            assertThat(source.processes()).singleElement().satisfies(p -> assertThat(p.info().running()).isTrue());

            source.close(); // its own clean image goes by name; the forks' tags keep it
            Workspace fork = forks.get(0);
            fork.writeString("scratch.txt", "x");
            fork.reset();
            assertThat(fork.readString("code/app/README.md")).as("the source's clean state, v2").isEqualTo("v2\n");
            assertThat(fork.exists("scratch.txt")).isFalse();
            assertThat(fork.exec("test -e /tmp/notes.txt && echo yes || echo no").stdout()).isEqualTo("no\n");
            forks.forEach(Workspace::close);
        }
        try (DockerEngine raw = DockerTestSupport.rawEngine()) {
            assertThat(raw.client().listImagesCmd().exec().stream()
                    .flatMap(i -> i.getRepoTags() == null ? java.util.stream.Stream.<String>empty() : java.util.Arrays.stream(i.getRepoTags()))
                    .filter(t -> ids.stream().anyMatch(id -> t.startsWith("derrick-checkpoint/" + id + ":"))).toList())
                    .as("no fork or clean image tag of these workspaces is left behind").isEmpty();
            String store = tmp.resolve("cache").toAbsolutePath().normalize().resolve("docker").toString();
            for (var image : raw.client().listImagesCmd().withLabelFilter(Map.of(dev.derrick.docker.internal.DockerCache.LABEL_CACHE_DIR, store)).exec()) {
                raw.client().removeImageCmd(image.getId()).withForce(true).exec(); // this test's cache goes with it
            }
        }
    }
}
