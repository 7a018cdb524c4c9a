package dev.derrick.core.cache;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.core.Redactor;
import dev.derrick.core.git.GitClient;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The mirror + bundle route, with the receiving scripts run by the real git CLI and no credentials on that side. */
@Timeout(60)
class GitMirrorsIT {
    static final String TOKEN = "tok-" + UUID.randomUUID();
    static GitTestServer server;

    @TempDir
    Path tmp;

    final GitClient git = new GitClient(Map.of("T", TOKEN), new Redactor());

    @BeforeAll
    static void start() {
        server = GitTestServer.start(TOKEN);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static String sh(Path cwd, String script, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("sh", "-c", script, "derrick"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void newCommitsTravelAsASmallBundleAndFastForwardACleanCheckout() throws Exception {
        String name = "m" + UUID.randomUUID().toString().substring(0, 8);
        byte[] big = new byte[200_000];
        new java.util.Random(1).nextBytes(big);
        server.createRepository(name, Map.of("a.txt", "a\n"));
        server.commitBytes(name, Map.of("big.bin", big), "big");
        RepositoryConfig repo = RepositoryConfig.of(server.url(name), "code/app").withAuth(GitAuth.fromEnv("T"));
        Path workspace = tmp.resolve("ws");
        git.cloneRepository(repo, workspace, null);
        GitMirrors mirrors = new GitMirrors(tmp.resolve("mirrors"), git, Map.of("T", TOKEN), new Redactor());
        mirrors.update(repo, null);

        BundleFetch.State state = BundleFetch.State.parse(sh(workspace, BundleFetch.STATE_SCRIPT, workspace.toString()));
        assertThat(state.branch()).isEqualTo("main");
        assertThat(state.remoteBranch()).isEqualTo("main");
        // Nothing new: no bundle.
        assertThat(mirrors.writeBundle(repo, "main", List.of(state.head()), new ByteArrayOutputStream())).isEmpty();

        String pushed = server.commit(name, Map.of("new.txt", "new\n"), "new");
        server.clearRequestLog();
        mirrors.update(repo, null);
        assertThat(server.requestLog()).filteredOn(r -> r.wants() > 0).singleElement()
                .matches(GitTestServer.Request::isNegotiatedFetch);

        ByteArrayOutputStream bundle = new ByteArrayOutputStream();
        assertThat(mirrors.writeBundle(repo, "main", List.of(state.head()), bundle)).contains(pushed);
        assertThat(bundle.size()).isLessThan(10_000); // the 200 KB blob the receiver has stays out
        Path file = tmp.resolve("x.bundle");
        Files.write(file, bundle.toByteArray());

        RepositoryFetch result = BundleFetch.parseApply("code/app",
                sh(workspace, BundleFetch.APPLY_SCRIPT, workspace.toString(), file.toString(), "main"));
        assertThat(result).isEqualTo(new RepositoryFetch("code/app", state.head(), pushed, true, "fast-forwarded", pushed));
        assertThat(workspace.resolve("new.txt")).hasContent("new");
        assertThat(file).doesNotExist();
        assertThat(Files.readString(workspace.resolve(".git/config"))).doesNotContain(TOKEN);
    }

    @Test
    void aDirtyCheckoutGetsTheCommitsButKeepsItsFiles() throws Exception {
        String name = "d" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(name, Map.of("a.txt", "a\n"));
        RepositoryConfig repo = RepositoryConfig.of(server.url(name), "code/app").withAuth(GitAuth.fromEnv("T"));
        Path workspace = tmp.resolve("ws");
        git.cloneRepository(repo, workspace, null);
        Files.writeString(workspace.resolve("a.txt"), "local edit\n");
        GitMirrors mirrors = new GitMirrors(tmp.resolve("mirrors"), git, Map.of("T", TOKEN), new Redactor());
        String pushed = server.commit(name, Map.of("b.txt", "b\n"), "b");
        mirrors.update(repo, null);
        BundleFetch.State state = BundleFetch.State.parse(sh(workspace, BundleFetch.STATE_SCRIPT, workspace.toString()));
        Path file = tmp.resolve("y.bundle");
        try (var out = Files.newOutputStream(file)) {
            mirrors.writeBundle(repo, "main", List.of(state.head()), out);
        }
        RepositoryFetch result = BundleFetch.parseApply("code/app",
                sh(workspace, BundleFetch.APPLY_SCRIPT, workspace.toString(), file.toString(), "main"));
        assertThat(result.status()).isEqualTo("dirty");
        assertThat(result.updated()).isFalse();
        assertThat(workspace.resolve("a.txt")).hasContent("local edit");
        assertThat(sh(workspace, "git rev-parse origin/main").strip()).isEqualTo(pushed);
    }

    @Test
    void parsesState() throws IOException {
        String sha = "a".repeat(40);
        assertThat(BundleFetch.State.parse(sha + "\n-\n-\n")).isEqualTo(new BundleFetch.State(sha, null, null));
    }
}
