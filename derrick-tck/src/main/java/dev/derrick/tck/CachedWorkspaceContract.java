package dev.derrick.tck;

import dev.derrick.api.GitAuth;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a provider with a provisioning cache promises about freshness, against the real token-protected
 * {@link GitTestServer}: a workspace made from a cache entry is brought up to date with the remote, and when it cannot
 * be, the provider says so — a WARN naming the repository and both commits, {@code info()} reporting the remote's
 * commit and {@code behind} — or, with the provider option {@code require_fresh=true}, fails the create. And a
 * {@code fetch()} that moved a repository is kept by a later {@code reset()}.
 *
 * <p>A subclass names the provider and its options for a given cache directory; the options must turn the cache on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
public abstract class CachedWorkspaceContract {
    /** Where the repository is checked out in every test config. */
    protected static final String REPO_PATH = "code/app";
    private static final String TOKEN = "tck-fresh-" + UUID.randomUUID();

    protected GitTestServer git;
    private Path work;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<Path> cacheDirs = new ArrayList<>();

    /** The provider's name for {@link WorkspaceProviders#open}. */
    protected abstract String providerName();

    /**
     * @param environment the provider environment (holds the git token under {@code GIT_TOKEN})
     * @param cacheDir    a cache directory of the test's own
     * @return options that turn the cache on in {@code cacheDir}
     */
    protected abstract Map<String, Object> providerOptions(Map<String, String> environment, Path cacheDir);

    /** Adds backend specifics to a test config (an image, say). */
    protected WorkspaceConfig.Builder customize(WorkspaceConfig.Builder builder) {
        return builder;
    }

    /** Removes what a cache directory's entries hold outside it (images); called after each test. */
    protected void removeCache(Path cacheDir) {
    }

    @BeforeAll
    void startServer() throws IOException {
        git = GitTestServer.start(TOKEN);
        work = Files.createTempDirectory("derrick-tck-fresh");
    }

    @AfterAll
    void stopServer() {
        git.close();
        try (var walk = Files.walk(work)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // best effort for temporary test data
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            try {
                toClose.get(i).close();
            } catch (RuntimeException e) {
                // best effort: the next close still runs
            }
        }
        toClose.clear();
        cacheDirs.forEach(this::removeCache);
        cacheDirs.clear();
    }

    private WorkspaceProvider provider(Path cacheDir, boolean requireFresh) {
        Map<String, Object> options = new HashMap<>(providerOptions(Map.of("GIT_TOKEN", TOKEN), cacheDir));
        if (requireFresh) {
            options.put("require_fresh", "true");
        }
        WorkspaceProvider provider = WorkspaceProviders.open(providerName(), options);
        toClose.add(provider);
        if (!cacheDirs.contains(cacheDir)) {
            cacheDirs.add(cacheDir);
        }
        return provider;
    }

    private Path newCacheDir() throws IOException {
        return Files.createDirectories(work.resolve("cache-" + UUID.randomUUID().toString().substring(0, 8)));
    }

    private String newRepo() {
        String name = "fresh-" + UUID.randomUUID().toString().substring(0, 8);
        git.createRepository(name, Map.of("README.md", "v1\n", "src/A.java", "class A {}\n"));
        return name;
    }

    private WorkspaceConfig config(GitTestServer server, String repo, String setup, String update) {
        WorkspaceConfig.Builder b = WorkspaceConfig.builder("tck-fresh-" + repo)
                .repository(new RepositoryConfig(server.url(repo), REPO_PATH, null, GitAuth.fromEnv("GIT_TOKEN"), "app-" + repo))
                .setupScript(setup);
        if (update != null) {
            b.updateScript(update);
        }
        return customize(b).build();
    }

    private Workspace create(WorkspaceProvider provider, WorkspaceConfig config) {
        Workspace ws = provider.create(config);
        toClose.add(ws);
        return ws;
    }

    /** Builds the cache entry: one create, closed again. */
    private void buildEntry(WorkspaceProvider provider, WorkspaceConfig config) {
        try (Workspace ws = provider.create(config)) {
            assertThat(ws.info().repositories()).singleElement()
                    .satisfies(r -> assertThat(r.status()).isEqualTo("cloned"));
        }
    }

    private static RepositoryState repo(Workspace ws) {
        List<RepositoryState> repos = ws.info().repositories();
        assertThat(repos).hasSize(1);
        return repos.get(0);
    }

    /** Runs {@code action}, returning what it wrote to standard error (where slf4j-simple logs). */
    private static <T> String stderrOf(Supplier<T> action, List<T> result) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            result.add(action.get());
        } finally {
            System.setErr(original);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        original.print(text);
        return text;
    }

    @Test
    void untrackedFilesASetupScriptLeftDoNotBlockTheFastForward() throws IOException {
        String name = newRepo();
        WorkspaceProvider provider = provider(newCacheDir(), false);
        WorkspaceConfig config = config(git, name, "cd " + REPO_PATH + " && mkdir -p build app.egg-info"
                + " && echo o > build/out.o && echo x > app.egg-info/PKG-INFO && touch .setup-done", null);
        buildEntry(provider, config);
        String pushed = git.commit(name, Map.of("README.md", "v2\n", "src/B.java", "class B {}\n"), "upstream moves");

        Workspace ws = create(provider, config);

        RepositoryState state = repo(ws);
        assertThat(state.commit()).as("brought up to date despite the untracked files").isEqualTo(pushed);
        assertThat(state.status()).isEqualTo("fast-forwarded");
        assertThat(state.remoteCommit()).isEqualTo(pushed);
        assertThat(state.behind()).isFalse();
        assertThat(state.name()).isEqualTo("app-" + name);
        assertThat(ws.readString(REPO_PATH + "/README.md")).isEqualTo("v2\n");
        assertThat(ws.readString(REPO_PATH + "/build/out.o")).isEqualTo("o\n");
        assertThat(ws.readString(REPO_PATH + "/app.egg-info/PKG-INFO")).isEqualTo("x\n");
    }

    @Test
    void anUntrackedFileWhereAnIncomingCommitPutsOneLeavesItBehindWithAWarnAndInfoSaysSo() throws IOException {
        String name = newRepo();
        WorkspaceProvider provider = provider(newCacheDir(), false);
        WorkspaceConfig config = config(git, name, "echo generated > " + REPO_PATH + "/generated.txt", null);
        buildEntry(provider, config);
        String pushed = git.commit(name, Map.of("generated.txt", "from upstream\n"), "upstream adds the file");

        List<Workspace> made = new ArrayList<>();
        String log = stderrOf(() -> create(provider, config), made);
        Workspace ws = made.get(0);

        RepositoryState state = repo(ws);
        assertThat(state.commit()).isNotEqualTo(pushed);
        assertThat(state.remoteCommit()).isEqualTo(pushed);
        assertThat(state.behind()).isTrue();
        assertThat(state.status()).isEqualTo("dirty");
        assertThat(ws.readString(REPO_PATH + "/generated.txt")).as("the untracked file is left alone").isEqualTo("generated\n");
        assertThat(log).as("one WARN naming the repository and both commits").containsPattern("WARN .*app-" + name)
                .contains(state.commit().substring(0, 12)).contains(pushed.substring(0, 12)).contains("stale");
    }

    @Test
    void requireFreshTurnsAStaleCreateIntoAFailure() throws IOException {
        String name = newRepo();
        Path cacheDir = newCacheDir();
        WorkspaceConfig config = config(git, name, "echo generated > " + REPO_PATH + "/generated.txt", null);
        buildEntry(provider(cacheDir, false), config);
        String pushed = git.commit(name, Map.of("generated.txt", "from upstream\n"), "upstream adds the file");
        WorkspaceProvider strict = provider(cacheDir, true);

        assertThatThrownBy(() -> create(strict, config))
                .isInstanceOf(SetupFailedException.class)
                .hasMessageContaining("require_fresh")
                .hasMessageContaining("app-" + name)
                .hasMessageContaining(pushed.substring(0, 12));
        assertThat(strict.list()).isEmpty();
    }

    @Test
    void anUnreachableRemoteIsAWarnAndUnreachableInInfoAndWithRequireFreshAFailure() throws IOException {
        GitTestServer doomed = GitTestServer.start(TOKEN);
        String name = "gone-" + UUID.randomUUID().toString().substring(0, 8);
        doomed.createRepository(name, Map.of("README.md", "v1\n"));
        Path cacheDir = newCacheDir();
        WorkspaceConfig config = config(doomed, name, "true", null);
        WorkspaceProvider provider = provider(cacheDir, false);
        buildEntry(provider, config);
        doomed.close();

        List<Workspace> made = new ArrayList<>();
        String log = stderrOf(() -> create(provider, config), made);
        RepositoryState state = repo(made.get(0));
        assertThat(state.status()).isEqualTo("unreachable");
        assertThat(state.remoteCommit()).isNull();
        assertThat(log).containsPattern("WARN .*app-" + name).contains(state.commit().substring(0, 12))
                .contains("cannot connect");

        WorkspaceProvider strict = provider(cacheDir, true);
        assertThatThrownBy(() -> create(strict, config))
                .isInstanceOf(GitOperationException.class)
                .hasMessageContaining("require_fresh")
                .hasMessageContaining("cannot connect");
    }

    @Test
    void resetAfterAFetchReturnsToTheFetchedCommitsWithTheUpdateScript() throws IOException {
        String name = newRepo();
        WorkspaceProvider provider = provider(newCacheDir(), false);
        WorkspaceConfig config = config(git, name, "echo setup > setup.log",
                "echo updated >> update.log && cat " + REPO_PATH + "/README.md >> update.log");
        buildEntry(provider, config);
        Workspace ws = create(provider, config);
        String pushed = git.commit(name, Map.of("README.md", "v2\n"), "upstream moves");

        List<RepositoryFetch> fetched = ws.fetch();
        assertThat(fetched).singleElement().satisfies(f -> {
            assertThat(f.status()).isEqualTo("fast-forwarded");
            assertThat(f.after()).isEqualTo(pushed);
            assertThat(f.remote()).isEqualTo(pushed);
        });
        ws.writeString(REPO_PATH + "/README.md", "a task's edit\n");
        ws.writeString("task-output.txt", "junk");

        ws.reset();

        assertThat(repo(ws).commit()).as("reset keeps the fetch").isEqualTo(pushed);
        assertThat(ws.readString(REPO_PATH + "/README.md")).isEqualTo("v2\n");
        assertThat(ws.exec("test -e task-output.txt").exitCode()).isNotZero();
        assertThat(ws.readString("update.log")).as("the update script ran on the fetched commits").isEqualTo("updated\nv2\n");

        git.clearRequestLog();
        ws.writeString("task-output.txt", "junk again");
        ws.reset();
        assertThat(repo(ws).commit()).isEqualTo(pushed);
        assertThat(ws.readString("update.log")).as("the clean state now holds it: no second update").isEqualTo("updated\nv2\n");
        assertThat(ws.exec("test -e task-output.txt").exitCode()).isNotZero();
        assertThat(git.requestLog()).as("a second reset needs no network").isEmpty();
    }
}
