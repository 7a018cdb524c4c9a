package dev.derrick.core.provision;

import dev.derrick.api.DerrickException;
import dev.derrick.api.GitAuth;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceCancelledException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.spi.ProvisioningEngine;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.core.git.GitClient;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The engine's flow against {@link DirBackend}, a real (directory) backend: no mocks. */
@Timeout(120)
class ProvisionerTest {
    static final String TOKEN = "tok-" + UUID.randomUUID();
    static final String SECRET = "s3cr3t-" + UUID.randomUUID().toString().substring(0, 8);
    static GitTestServer server;

    @TempDir
    Path tmp;
    final List<Provisioner<String, Path, DirBackend.Ws>> opened = new ArrayList<>();

    @BeforeAll
    static void startServer() {
        server = GitTestServer.start(TOKEN);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @AfterEach
    void closeEngines() {
        opened.forEach(Provisioner::close);
    }

    DirBackend backend() {
        return new DirBackend(tmp.resolve("workspaces"), git());
    }

    GitClient git() {
        return new GitClient(Map.of("GIT_TOKEN", TOKEN), redactor);
    }

    final Redactor redactor = new Redactor().add(SECRET);

    Provisioner<String, Path, DirBackend.Ws> engine(DirBackend backend, boolean cache) {
        CacheStore store = cache ? new CacheStore(tmp.resolve("cache"), backend.name(), null) : null;
        Provisioner<String, Path, DirBackend.Ws> p = new Provisioner<>(backend, new Provisioner.Settings(store,
                EvictionPolicy.NONE, false, backend.git, redactor, Map.of("GIT_TOKEN", TOKEN)));
        opened.add(p);
        return p;
    }

    static WorkspaceConfig.Builder config(String name) {
        return WorkspaceConfig.builder(name).setupScript("cat /proc/sys/kernel/random/uuid > run-id; echo ran >> runs.log");
    }

    static String read(Path file) throws Exception {
        return Files.readString(file);
    }

    @Test
    void concurrentCreatesOfOneConfigBuildOnceAndExactlyOneCallerLeads() throws Exception {
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        WorkspaceConfig config = config("flight").setupScript("sleep 0.5; echo ran >> runs.log").build();
        int n = 6;
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<DirBackend.Ws>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String ctx = "ctx-" + i;
                futures.add(pool.submit(() -> {
                    start.await();
                    return engine.create(ctx, config, null);
                }));
            }
            List<DirBackend.Ws> all = new ArrayList<>();
            for (Future<DirBackend.Ws> f : futures) {
                all.add(f.get(60, TimeUnit.SECONDS));
            }
            assertThat(backend.basesMade).as("one build for six creates").hasValue(1);
            assertThat(all).filteredOn(w -> w.builtNow).as("only the leader says it built").hasSize(1);
            assertThat(all).extracting(w -> w.snapshot.id()).containsOnly(all.get(0).snapshot.id());
            for (DirBackend.Ws w : all) {
                assertThat(read(w.dir.resolve("runs.log"))).isEqualTo("ran\n");
            }
            assertThat(engine.store().list()).singleElement().satisfies(s -> assertThat(s.leases()).isEqualTo(n));
            assertThat(backend.basesDiscarded).as("the leader's base is discarded after its copy").hasValue(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aSecondCreateIsAFollowerOfTheStoreAndDoesNotBuild() throws Exception {
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        WorkspaceConfig config = config("twice").build();
        DirBackend.Ws first = engine.create("a", config, null);
        DirBackend.Ws second = engine.create("b", config, null);
        assertThat(first.builtNow).isTrue();
        assertThat(second.builtNow).isFalse();
        assertThat(read(second.dir.resolve("run-id"))).isEqualTo(read(first.dir.resolve("run-id")));
        assertThat(backend.basesMade).hasValue(1);
        assertThat(engine.store().list().get(0).entry().details()).containsEntry("kind", "dir").containsKey("setup_ms");
    }

    @Test
    void cancellationIsOneTypeAndLeavesNothing() {
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        int[] asked = {0};
        // passes the first checks, stops before publishing
        ProgressListener cancelAfterSetupStarts = ProgressListener.NONE.cancelledWhen(() -> ++asked[0] > 2);
        assertThatThrownBy(() -> engine.create("c", config("cancel").build(), cancelAfterSetupStarts))
                .isExactlyInstanceOf(WorkspaceCancelledException.class)
                .hasMessage("creating a workspace for 'cancel' was cancelled");
        assertThat(engine.store().list()).isEmpty();
        assertThat(backend.basesMade.get()).isEqualTo(backend.basesDiscarded.get());
        assertThat(backend.liveBases).isEmpty();

        ProgressListener cancelled = ProgressListener.NONE.cancelledWhen(() -> true);
        assertThatThrownBy(() -> engine(backend, false).create("c", config("cancel").build(), cancelled))
                .isExactlyInstanceOf(WorkspaceCancelledException.class);
    }

    @Test
    void aFailingSetupScriptHasOneMessageWithTheOutputTailScrubbed() {
        DirBackend backend = backend();
        for (boolean cache : new boolean[] {true, false}) {
            Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, cache);
            WorkspaceConfig config = WorkspaceConfig.builder("broken")
                    .setupScript("echo using " + SECRET + "; echo broken dependency >&2; exit 3").build();
            assertThatThrownBy(() -> engine.create("x", config, null))
                    .isInstanceOfSatisfying(SetupFailedException.class, e -> {
                        assertThat(e.exitCode()).isEqualTo(3);
                        assertThat(e.output()).contains("broken dependency").doesNotContain(SECRET).contains(Redactor.MASK);
                        assertThat(e.getMessage()).isEqualTo("setup script of workspace config 'broken' exited with code 3;"
                                + " last output:\nusing " + Redactor.MASK + "\nbroken dependency");
                    });
            if (cache) {
                assertThat(engine.store().list()).isEmpty();
            }
        }
        assertThat(backend.liveBases).isEmpty();
        assertThat(Failures.tail("")).isEqualTo(" (no output)");
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            many.append("line ").append(i).append('\n');
        }
        assertThat(Failures.tail(many.toString())).startsWith("; last output:\nline 30\n").endsWith("line 49");
    }

    @Test
    void aFailureThatIsNotDerricksIsTranslatedAndScrubbedAndNothingIsPublished() {
        DirBackend backend = backend();
        backend.failSnapshot = new IllegalStateException("disk on fire near " + SECRET);
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        assertThatThrownBy(() -> engine.create("x", config("fire").build(), null))
                .isExactlyInstanceOf(DerrickException.class)
                .hasMessage("creating a workspace for 'fire' failed: disk on fire near " + Redactor.MASK);
        assertThat(engine.store().list()).isEmpty();
        assertThat(backend.liveBases).isEmpty();
    }

    @Test
    void withTheCacheOffTheBaseIsAdoptedAndEveryCreateBuilds() throws Exception {
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, false);
        DirBackend.Ws a = engine.create("a", config("nocache").build(), null);
        DirBackend.Ws b = engine.create("b", config("nocache").build(), null);
        assertThat(backend.adopted).hasValue(2);
        assertThat(backend.instantiated).hasValue(0);
        assertThat(read(a.dir.resolve("run-id"))).isNotEqualTo(read(b.dir.resolve("run-id")));
        assertThat(backend.contexts).containsExactly("a", "b");
    }

    @Test
    void anEntryWhosePayloadIsGoneIsDroppedAndRebuilt() {
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        WorkspaceConfig config = config("vanished").build();
        DirBackend.Ws first = engine.create("a", config, null);
        backend.discardWorkspace(first);
        backend.payloadExists = false;
        String firstId = first.snapshot.id();
        // the entry is there but its payload is not: dropped from the store and built again, by this create
        DirBackend.Ws again = engine.create("b", config, null);
        assertThat(again.builtNow).isTrue();
        assertThat(again.snapshot.id()).isNotEqualTo(firstId);
        assertThat(backend.basesMade).hasValue(2);
        assertThat(engine.store().list()).extracting(st -> st.entry().id()).containsExactly(again.snapshot.id());
    }

    @Test
    void aMovedCacheKeyFileRebuildsTheEntryInTheBackgroundAndOtherCommitsOnlyFetch() throws Exception {
        String name = "app-" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(name, Map.of("README.md", "v1\n", "deps.txt", "lib-1\n"));
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        WorkspaceConfig config = WorkspaceConfig.builder("keyfiles")
                .repository(RepositoryConfig.of(server.url(name), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("cp code/app/deps.txt installed.txt")
                .updateScript("cat code/app/README.md > updated.txt")
                .cacheKeyFile("deps.txt")
                .build();
        DirBackend.Ws first = engine.create("a", config, null);
        CacheEntry original = engine.store().list().get(0).entry();

        server.commit(name, Map.of("README.md", "v2\n"), "docs only");
        DirBackend.Ws second = engine.create("b", config, null);
        engine.awaitBackgroundWork(Duration.ofSeconds(60));
        assertThat(second.fetched).singleElement().satisfies(f -> assertThat(f.updated()).isTrue());
        assertThat(read(second.dir.resolve("updated.txt"))).isEqualTo("v2\n");
        assertThat(second.cleanMarks).as("the fetched state is the clean state").isEqualTo(1);
        assertThat(backend.basesMade).as("a README commit does not rebuild").hasValue(1);

        server.commit(name, Map.of("deps.txt", "lib-2\n"), "new dependency");
        DirBackend.Ws third = engine.create("c", config, null);
        assertThat(third.snapshot.id()).as("served from the old entry, fetched").isEqualTo(original.id());
        assertThat(read(third.dir.resolve("installed.txt"))).isEqualTo("lib-1\n");
        engine.awaitBackgroundWork(Duration.ofSeconds(60));
        assertThat(backend.basesMade).as("rebuilt once in the background").hasValue(2);
        DirBackend.Ws fourth = engine.create("d", config, null);
        assertThat(fourth.snapshot.id()).isNotEqualTo(original.id());
        assertThat(read(fourth.dir.resolve("installed.txt"))).isEqualTo("lib-2\n");
        assertThat(backend.contexts.get(1)).as("the rebuild reuses the triggering create's context").isEqualTo("c");
        assertThat(first.discarded).isFalse();
    }

    private WorkspaceConfig resetConfig(String name, String updateScript) {
        server.createRepository(name, Map.of("README.md", "v1\n"));
        return WorkspaceConfig.builder("reset-" + name)
                .repository(RepositoryConfig.of(server.url(name), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo built > setup.txt")
                .updateScript(updateScript)
                .build();
    }

    @Test
    void aResetRestoresTheCleanStateAndReturnsToTheCommitsTheWorkspacesFetchesMovedTo() throws Exception {
        String name = "reset-" + UUID.randomUUID().toString().substring(0, 8);
        WorkspaceConfig config = resetConfig(name, "cat code/app/README.md > updated.txt; echo u >> updates.log");
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        DirBackend.Ws ws = engine.create("a", config, null);
        Files.writeString(ws.dir.resolve("scratch.txt"), "agent's work");

        engine.reset("a", ws, config, Map.of());
        assertThat(ws.dir.resolve("scratch.txt")).doesNotExist();
        assertThat(read(ws.dir.resolve("setup.txt"))).isEqualTo("built\n");
        assertThat(ws.dir.resolve("updates.log")).as("nothing was fetched: no update script").doesNotExist();
        assertThat(ws.cleanMarks).isZero();

        server.commit(name, Map.of("README.md", "v2\n"), "upstream moved");
        RepositoryFetch fetch = backend.git.fetch(ws.dir.resolve("code/app"), config.repositories().get(0), null);
        assertThat(fetch.updated()).isTrue();
        Files.writeString(ws.dir.resolve("scratch.txt"), "more work");

        engine.reset("a", ws, config, Map.of("code/app", fetch.after()));
        assertThat(ws.dir.resolve("scratch.txt")).doesNotExist();
        assertThat(read(ws.dir.resolve("code/app/README.md"))).as("back at the fetched commit").isEqualTo("v2\n");
        assertThat(read(ws.dir.resolve("updated.txt"))).isEqualTo("v2\n");
        assertThat(ws.cleanMarks).as("that became the clean state").isEqualTo(1);
        assertThat(ws.fetched).singleElement().satisfies(f -> {
            assertThat(f.updated()).isTrue();
            assertThat(f.after()).isEqualTo(fetch.after());
        });

        // the next reset needs no fetched commits: the clean state has them
        Files.writeString(ws.dir.resolve("code/app/README.md"), "edited\n");
        engine.reset("a", ws, config, Map.of());
        assertThat(read(ws.dir.resolve("code/app/README.md"))).isEqualTo("v2\n");
        assertThat(read(ws.dir.resolve("updates.log"))).as("the update script ran once").isEqualTo("u\n");
        assertThat(ws.restores).isEqualTo(3);
    }

    @Test
    void aFailedUpdateScriptAfterAResetIsASetupFailureScrubbedOfSecretsAndTheCleanStateStays() throws Exception {
        String name = "resetfail-" + UUID.randomUUID().toString().substring(0, 8);
        WorkspaceConfig config = resetConfig(name, "echo using " + SECRET + "; exit 3");
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        DirBackend.Ws ws = engine.create("a", config, null);
        server.commit(name, Map.of("README.md", "v2\n"), "upstream moved");
        RepositoryFetch fetch = backend.git.fetch(ws.dir.resolve("code/app"), config.repositories().get(0), null);

        assertThatThrownBy(() -> engine.reset("a", ws, config, Map.of("code/app", fetch.after())))
                .isInstanceOfSatisfying(SetupFailedException.class, e -> {
                    assertThat(e.getMessage()).startsWith("update script (after a reset returned to the fetched commits)"
                            + " of workspace config '" + config.name() + "' exited with code 3")
                            .contains("using " + Redactor.MASK).doesNotContain(SECRET);
                    assertThat(e.exitCode()).isEqualTo(3);
                });
        assertThat(ws.cleanMarks).isZero();
        engine.reset("a", ws, config, Map.of());
        assertThat(read(ws.dir.resolve("code/app/README.md"))).as("the clean state is the one before").isEqualTo("v1\n");
    }

    @Test
    void aFetchedCommitThatCannotBeReachedAgainLeavesTheRepositoryAtTheCleanState() throws Exception {
        String name = "resetgone-" + UUID.randomUUID().toString().substring(0, 8);
        WorkspaceConfig config = resetConfig(name, "echo u >> updates.log");
        DirBackend backend = backend();
        Provisioner<String, Path, DirBackend.Ws> engine = engine(backend, true);
        DirBackend.Ws ws = engine.create("a", config, null);

        engine.reset("a", ws, config, Map.of("code/app", "0123456789abcdef0123456789abcdef01234567"));
        assertThat(read(ws.dir.resolve("code/app/README.md"))).isEqualTo("v1\n");
        assertThat(ws.dir.resolve("updates.log")).doesNotExist();
        assertThat(ws.cleanMarks).isZero();
    }

    @Test
    void derrickCoreRegistersTheEngineForThirdPartyBackends() {
        DirBackend backend = backend();
        try (ProvisioningEngine<String, DirBackend.Ws> engine = ProvisioningEngine.open(backend,
                Map.of("cache_dir", tmp.resolve("sl-cache").toString(), "unrelated", 1), Map.of())) {
            assertThat(engine).isInstanceOf(Provisioner.class);
            assertThat(engine.caching()).isTrue();
            DirBackend.Ws ws = engine.create("x", config("loaded").build(), null);
            assertThat(ws.dir.resolve("runs.log")).exists();
        }
        try (ProvisioningEngine<String, DirBackend.Ws> off = ProvisioningEngine.open(backend, Map.of("cache", false), Map.of())) {
            assertThat(off.caching()).isFalse();
        }
    }
}
