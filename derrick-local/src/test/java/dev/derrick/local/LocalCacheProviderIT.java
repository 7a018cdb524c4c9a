package dev.derrick.local;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The provisioning cache through the public API: WorkspaceProviders.open("local") with cache options. */
@Timeout(180)
class LocalCacheProviderIT {
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

    WorkspaceProvider open(String mode) {
        return WorkspaceProviders.open("local", Map.of("root", tmp.resolve("workspaces").toString(),
                "cache_dir", tmp.resolve("cache").toString(), "cache_mode", mode,
                "environment", Map.of("GIT_TOKEN", TOKEN, "PATH", System.getenv("PATH"))));
    }

    @ParameterizedTest
    @ValueSource(strings = {"auto", "copy"})
    void createsFromTheCacheFetchesResetsAndRestores(String mode) throws Exception {
        String repo = "p" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(repo, Map.of("README.md", "hello\n"));
        // The setup script runs sandboxed (it cannot count its runs in a host file): each run leaves a token of its own,
        // so one token across all workspaces means one run.
        WorkspaceConfig config = WorkspaceConfig.builder("provider-it")
                .repository(RepositoryConfig.of(server.url(repo), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo \"run-$(date +%s%N)-$$\" > setup-run.txt; echo built > built.txt").build();
        try (WorkspaceProvider provider = open(mode)) {
            int n = 16;
            CyclicBarrier barrier = new CyclicBarrier(n);
            ExecutorService pool = Executors.newFixedThreadPool(n);
            List<Workspace> all = new ArrayList<>();
            try {
                List<Future<Workspace>> futures = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    futures.add(pool.submit(() -> {
                        barrier.await();
                        return provider.create(config);
                    }));
                }
                for (Future<Workspace> f : futures) {
                    all.add(f.get(120, TimeUnit.SECONDS));
                }
            } finally {
                pool.shutdownNow();
            }
            String run = all.get(0).readString("setup-run.txt");
            assertThat(run).startsWith("run-");
            assertThat(all).allSatisfy(ws -> {
                assertThat(ws.readString("setup-run.txt")).isEqualTo(run);
                assertThat(ws.readString("built.txt")).isEqualTo("built\n");
                assertThat(ws.info().cacheEntry()).isNotNull();
            });
            all.subList(1, n).forEach(Workspace::close);

            Workspace ws = all.get(0);
            String pushed = server.commit(repo, Map.of("NEW.md", "new\n"), "new");
            server.clearRequestLog();
            List<RepositoryFetch> fetched = ws.fetch();
            assertThat(fetched).singleElement().satisfies(f -> {
                assertThat(f.after()).isEqualTo(pushed);
                assertThat(f.status()).isEqualTo("fast-forwarded");
            });
            assertThat(ws.info().repositories().get(0).commit()).isEqualTo(pushed);
            assertThat(server.requestLog()).filteredOn(r -> r.wants() > 0).singleElement()
                    .matches(GitTestServer.Request::isNegotiatedFetch);

            try (Workspace fresh = provider.create(config)) {
                assertThat(fresh.readString("code/app/NEW.md")).isEqualTo("new\n");
                assertThat(fresh.readString("setup-run.txt")).isEqualTo(run);
            }

            ws.writeString("code/app/README.md", "edited");
            ws.exec("rm built.txt && echo x > outside.txt");
            String cp = ws.checkpoint();
            ws.writeString("later.txt", "later");
            ws.restore(cp);
            assertThat(ws.readString("code/app/README.md")).isEqualTo("edited");
            assertThat(ws.exec("test -e later.txt").exitCode()).isNotZero();
            String id = ws.id();
            ws.reset();
            assertThat(ws.id()).isEqualTo(id);
            assertThat(provider.get(id)).isSameAs(ws);
            assertThat(ws.readString("code/app/README.md")).isEqualTo("hello\n");
            assertThat(ws.readString("built.txt")).isEqualTo("built\n");
            assertThat(ws.exec("test -e outside.txt || test -e later.txt").exitCode()).isNotZero();
        }
        assertThat(entries(tmp.resolve("workspaces"))).allMatch(n -> n.startsWith(".derrick"));
        assertThat(entries(tmp.resolve("cache/local-instances"))).isEmpty();
    }

    static List<String> entries(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
