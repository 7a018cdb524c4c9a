package dev.derrick.local;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.pool.WorkspacePool;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The warm pool ({@code pool} option) in front of a real, sandboxed local provider and a token-protected git server. */
@Timeout(180)
class LocalPoolIT {
    static final String TOKEN = "tok-" + UUID.randomUUID();
    static GitTestServer server;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        server = GitTestServer.start(TOKEN);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    WorkspacePool open(Object pool) {
        Map<String, Object> options = new HashMap<>(Map.of("root", tmp.resolve("workspaces").toString(),
                "cache_dir", tmp.resolve("cache").toString(),
                "environment", Map.of("GIT_TOKEN", TOKEN, "PATH", System.getenv("PATH"))));
        options.put("pool", pool);
        WorkspaceProvider provider = WorkspaceProviders.open("local", options);
        assertThat(provider).isInstanceOf(WorkspacePool.class);
        return (WorkspacePool) provider;
    }

    WorkspaceConfig config(String repo) {
        return WorkspaceConfig.builder("pool-it")
                .repository(RepositoryConfig.of(server.url(repo), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo \"run-$(date +%s%N)-$$\" > setup-run.txt; echo \"[$GREETING]\" > setup-env.txt")
                .build();
    }

    @Test
    void createsClaimReadyWorkspacesThatAreHiddenUntilClaimedAndRefilled() throws Exception {
        String repo = "pool-" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(repo, Map.of("README.md", "v1\n"));
        WorkspaceConfig config = config(repo);
        Path workspaces = tmp.resolve("workspaces");
        try (WorkspacePool pool = open(2)) {
            Workspace first = pool.create(config);
            pool.awaitIdle(Duration.ofSeconds(60));
            assertThat(pool.stats()).isEqualTo(new WorkspacePool.Stats(2, 1, 2, 0, 1, 0));
            try (var dirs = Files.list(workspaces)) {
                assertThat(dirs.filter(d -> d.getFileName().toString().startsWith("local-")).count())
                        .as("one handed out, two ready").isEqualTo(3);
            }
            assertThat(pool.list()).extracting(Workspace::id).containsExactly(first.id());

            Workspace second = pool.create(config, Map.of("GREETING", "hello"), null);
            assertThat(pool.stats().hits()).isEqualTo(1);
            assertThat(pool.list()).extracting(Workspace::id).containsExactlyInAnyOrder(first.id(), second.id());
            assertThat(pool.get(second.id())).isSameAs(second);
            // the same clean state (the setup ran once), the create's env in the commands and not in the setup
            assertThat(second.readString("setup-run.txt")).isEqualTo(first.readString("setup-run.txt"));
            assertThat(second.readString("setup-env.txt")).isEqualTo("[]\n");
            assertThat(second.exec("echo \"$GREETING\"").stdout()).isEqualTo("hello\n");
            assertThat(second.exec(dev.derrick.api.ExecRequest.of("echo \"$GREETING\"").withEnv("GREETING", "mine"))
                    .stdout()).as("a command's own env wins").isEqualTo("mine\n");
            assertThat(second.readString("code/app/README.md")).isEqualTo("v1\n");
            assertThat(second.info().created()).isAfter(first.info().created());

            pool.awaitIdle(Duration.ofSeconds(60));
            assertThat(pool.stats().ready()).as("refilled").isEqualTo(2);
            second.close();
            assertThat(pool.find(second.id())).isEmpty();
        }
        try (var dirs = Files.list(workspaces)) {
            assertThat(dirs.filter(d -> d.getFileName().toString().startsWith("local-")).toList())
                    .as("closing the pool ends its ready workspaces").isEmpty();
        }
    }

    @Test
    void aReadyWorkspaceBehindItsRemoteIsNeverHandedOut() throws Exception {
        String repo = "pool-" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(repo, Map.of("README.md", "v1\n"));
        WorkspaceConfig config = config(repo);
        try (WorkspacePool pool = open("1")) {
            pool.create(config).close();
            pool.awaitIdle(Duration.ofSeconds(60));
            assertThat(pool.stats().ready()).isEqualTo(1);

            server.commit(repo, Map.of("README.md", "v2\n"), "upstream moved");
            Workspace ws = pool.create(config);
            assertThat(ws.readString("code/app/README.md")).isEqualTo("v2\n");
            assertThat(pool.stats().stale()).isEqualTo(1);
            assertThat(pool.stats().hits()).isZero();

            pool.awaitIdle(Duration.ofSeconds(60));
            Workspace next = pool.create(config);
            assertThat(pool.stats().hits()).as("the refill has the new commit").isEqualTo(1);
            assertThat(next.readString("code/app/README.md")).isEqualTo("v2\n");
        }
    }

    @Test
    void aBadPoolSizeIsAClearError() {
        assertThatThrownBy(() -> open("many")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("option 'pool' of provider 'local' must be a whole number of workspaces per config, got 'many'");
        assertThatThrownBy(() -> open(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("option 'pool' of provider 'local' must be between 0 and 1000, got -1");
        try (WorkspaceProvider none = WorkspaceProviders.open("local", Map.of("root", tmp.resolve("w0").toString(),
                "cache_dir", tmp.resolve("c0").toString(), "pool", 0))) {
            assertThat(none).isInstanceOf(LocalWorkspaceProvider.class);
        }
    }
}
