package dev.derrick.core.git;

import dev.derrick.api.GitAuth;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.core.Redactor;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class GitClientIT {
    static final String TOKEN = "tok-" + java.util.UUID.randomUUID();
    static GitTestServer server;
    static String firstCommit;

    @TempDir
    Path tmp;

    final Redactor redactor = new Redactor();
    final GitClient git = new GitClient(Map.of("GIT_TOKEN", TOKEN, "WRONG", "not-the-token"), redactor);

    @BeforeAll
    static void startServer() {
        server = GitTestServer.start(TOKEN);
        firstCommit = server.createRepository("app", Map.of("README.md", "hello\n", "src/Main.java", "class Main {}\n"));
        server.createRepository("other", Map.of("a.txt", "a"));
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    RepositoryConfig repo(String name, String env) {
        return RepositoryConfig.of(server.url(name), "code/" + name).withAuth(GitAuth.fromEnv(env));
    }

    @Test
    void clonesWithTheRightTokenAndWritesNoTokenAnywhere() throws IOException {
        Path target = tmp.resolve("code/app");
        RepositoryState state = git.cloneRepository(repo("app", "GIT_TOKEN"), target, null);

        assertThat(state.commit()).isEqualTo(firstCommit);
        assertThat(state.branch()).isEqualTo("main");
        assertThat(target.resolve("README.md")).hasContent("hello");
        assertThat(Files.readString(target.resolve(".git/config"))).contains(server.url("app")).doesNotContain(TOKEN);
        try (Stream<Path> files = Files.walk(target)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                try {
                    assertThat(new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1))
                            .as("file %s", f).doesNotContain(TOKEN);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    @Test
    void wrongTokenFailsSayingAuthenticationFailedWithoutShowingTheToken() {
        Path target = tmp.resolve("wrong");
        assertThatThrownBy(() -> git.cloneRepository(repo("app", "WRONG"), target, null))
                .isInstanceOf(GitOperationException.class)
                .hasMessageContaining("authentication failed")
                .hasMessageContaining("$WRONG")
                .satisfies(e -> assertThat(((GitOperationException) e).authenticationFailed()).isTrue())
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("not-the-token").doesNotContain(TOKEN));
        assertThat(target).doesNotExist();
    }

    @Test
    void eachHttpFailureIsNamedAndTheCauseChainIsKeptWithoutTheToken() {
        server.createRepository("secret", Map.of("a", "1"));
        server.forbid("secret");
        assertThatThrownBy(() -> git.cloneRepository(repo("secret", "GIT_TOKEN"), tmp.resolve("f"), null))
                .isInstanceOf(GitOperationException.class)
                .hasMessageContaining("authentication failed (HTTP 403; the token was accepted but may not read this repository)")
                .satisfies(e -> assertThat(((GitOperationException) e).authenticationFailed()).isTrue())
                .satisfies(GitClientIT::causeChainIsKeptAndTokenFree);
        assertThatThrownBy(() -> git.cloneRepository(repo("app", "WRONG"), tmp.resolve("w"), null))
                .hasMessageContaining("authentication failed (HTTP 401; check the token in $WRONG)")
                .satisfies(GitClientIT::causeChainIsKeptAndTokenFree);
        assertThatThrownBy(() -> git.cloneRepository(repo("no-such-repo", "GIT_TOKEN"), tmp.resolve("n"), null))
                .hasMessageContaining("repository or reference not found")
                .satisfies(e -> assertThat(((GitOperationException) e).authenticationFailed()).isFalse())
                .satisfies(GitClientIT::causeChainIsKeptAndTokenFree);
    }

    @Test
    void aRefusedConnectionAndATlsFailureAreNamed() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        RepositoryConfig refused = RepositoryConfig.of("http://127.0.0.1:" + closedPort + "/git/app.git", "r")
                .withAuth(dev.derrick.api.GitAuth.fromEnv("GIT_TOKEN"));
        assertThatThrownBy(() -> git.cloneRepository(refused, tmp.resolve("r"), null))
                .isInstanceOf(GitOperationException.class)
                .hasMessageContaining("cannot connect (")
                .satisfies(GitClientIT::causeChainIsKeptAndTokenFree)
                .satisfies(e -> assertThat(chain(e)).anyMatch(java.net.ConnectException.class::isInstance));

        // https:// to the plain-HTTP test server: the TLS handshake fails.
        RepositoryConfig tls = RepositoryConfig.of(server.url("app").replace("http://", "https://"), "t")
                .withAuth(dev.derrick.api.GitAuth.fromEnv("GIT_TOKEN"));
        assertThatThrownBy(() -> git.cloneRepository(tls, tmp.resolve("t"), null))
                .isInstanceOf(GitOperationException.class)
                .hasMessageContaining("TLS failure (")
                .satisfies(GitClientIT::causeChainIsKeptAndTokenFree)
                .satisfies(e -> assertThat(chain(e)).anyMatch(javax.net.ssl.SSLException.class::isInstance));
    }

    private static java.util.List<Throwable> chain(Throwable e) {
        java.util.List<Throwable> out = new java.util.ArrayList<>();
        for (Throwable t = e.getCause(); t != null && out.size() < 30; t = t.getCause()) {
            out.add(t);
        }
        return out;
    }

    private static void causeChainIsKeptAndTokenFree(Throwable e) {
        assertThat(e.getCause()).as("the cause chain is kept").isNotNull();
        java.io.StringWriter trace = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(trace));
        assertThat(trace.toString()).doesNotContain(TOKEN).doesNotContain("not-the-token");
        assertThat(e.getMessage()).doesNotContain("cannot open git-upload-pack").doesNotContain(TOKEN);
    }

    @Test
    void missingCredentialsFailSayingAuthenticationFailed() {
        assertThatThrownBy(() -> git.cloneRepository(RepositoryConfig.of(server.url("app"), "x"), tmp.resolve("x"), null))
                .isInstanceOf(GitOperationException.class)
                .hasMessageContaining("authentication failed")
                .hasMessageContaining("token_env");
    }

    @Test
    void unsetTokenVariableIsAClearConfigError() {
        assertThatThrownBy(() -> git.cloneRepository(repo("app", "NOT_SET_ANYWHERE"), tmp.resolve("y"), null))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("NOT_SET_ANYWHERE");
    }

    @Test
    void clonesABranchTagOrCommitReference() {
        RepositoryState atCommit = git.cloneRepository(repo("app", "GIT_TOKEN").withReference(firstCommit),
                tmp.resolve("c"), null);
        assertThat(atCommit.commit()).isEqualTo(firstCommit);
        assertThat(atCommit.branch()).isNull();

        RepositoryState atBranch = git.cloneRepository(repo("app", "GIT_TOKEN").withReference("main"), tmp.resolve("b"), null);
        assertThat(atBranch.branch()).isEqualTo("main");

        assertThatThrownBy(() -> git.cloneRepository(repo("app", "GIT_TOKEN").withReference("no-such-branch"),
                tmp.resolve("n"), null))
                .isInstanceOf(GitOperationException.class)
                .hasMessageContaining("no-such-branch");
    }

    @Test
    void fetchFastForwardsACleanCheckoutByNegotiatingNotCloning() {
        server.createRepository("moving", Map.of("v.txt", "1"));
        RepositoryConfig config = repo("moving", "GIT_TOKEN");
        Path target = tmp.resolve("moving");
        RepositoryState before = git.cloneRepository(config, target, null);

        assertThat(git.fetch(target, config, null).status()).isEqualTo("up-to-date");
        String next = server.commit("moving", Map.of("v.txt", "2"), "second");
        server.clearRequestLog();

        RepositoryFetch fetched = git.fetch(target, config, null);

        assertThat(fetched.updated()).isTrue();
        assertThat(fetched.before()).isEqualTo(before.commit());
        assertThat(fetched.after()).isEqualTo(next);
        assertThat(fetched.status()).isEqualTo("fast-forwarded");
        assertThat(target.resolve("v.txt")).hasContent("2");
        assertThat(server.requestLog()).anyMatch(GitTestServer.Request::isNegotiatedFetch)
                .noneMatch(GitTestServer.Request::isFullClone);
    }

    @Test
    void fetchLeavesADirtyWorkTreeAloneAndSaysSo() throws IOException {
        server.createRepository("dirty", Map.of("v.txt", "1"));
        RepositoryConfig config = repo("dirty", "GIT_TOKEN");
        Path target = tmp.resolve("dirty");
        RepositoryState before = git.cloneRepository(config, target, null);
        Files.writeString(target.resolve("v.txt"), "local edit");
        server.commit("dirty", Map.of("v.txt", "2"), "second");

        RepositoryFetch fetched = git.fetch(target, config, null);

        assertThat(fetched.status()).isEqualTo("dirty");
        assertThat(fetched.updated()).isFalse();
        assertThat(fetched.after()).isEqualTo(before.commit());
        assertThat(target.resolve("v.txt")).hasContent("local edit");
    }

    @Test
    void untrackedFilesOnlyBlockAFastForwardWhereIncomingCommitsPutFiles() throws IOException {
        server.createRepository("untracked", Map.of("v.txt", "1", ".gitignore", "ignored/\n"));
        RepositoryConfig config = repo("untracked", "GIT_TOKEN");
        Path target = tmp.resolve("untracked");
        RepositoryState cloned = git.cloneRepository(config, target, null);
        assertThat(cloned.status()).isEqualTo("cloned");
        // What setup scripts leave: a build directory, a marker, egg-info, an ignored directory.
        Files.createDirectories(target.resolve("build"));
        Files.writeString(target.resolve("build/out.o"), "o");
        Files.writeString(target.resolve(".setup-done"), "");
        Files.createDirectories(target.resolve("app.egg-info"));
        Files.writeString(target.resolve("app.egg-info/PKG-INFO"), "x");
        Files.createDirectories(target.resolve("ignored"));
        Files.writeString(target.resolve("ignored/cache.bin"), "mine");

        String second = server.commit("untracked", Map.of("v.txt", "2", "src/New.java", "class New {}"), "second");
        RepositoryFetch moved = git.fetch(target, config, null);
        assertThat(moved.status()).isEqualTo("fast-forwarded");
        assertThat(moved.after()).isEqualTo(second).isEqualTo(moved.remote());
        assertThat(moved.behind()).isFalse();
        assertThat(target.resolve("build/out.o")).hasContent("o");

        // An incoming file where an untracked one is: left alone, reported dirty and behind.
        String third = server.commit("untracked", Map.of("build/out.o", "upstream"), "third");
        RepositoryFetch blocked = git.fetch(target, config, null);
        assertThat(blocked.status()).isEqualTo("dirty");
        assertThat(blocked.after()).isEqualTo(second);
        assertThat(blocked.remote()).isEqualTo(third);
        assertThat(blocked.behind()).isTrue();
        assertThat(target.resolve("build/out.o")).hasContent("o");

        // An incoming file under an ignored directory: never an exception (JGit's checkout conflict is "dirty").
        Files.delete(target.resolve("build/out.o"));
        String fourth = server.commit("untracked", Map.of("ignored/cache.bin", "upstream"), "fourth");
        RepositoryFetch ignored = git.fetch(target, config, null);
        assertThat(ignored.status()).isIn("fast-forwarded", "dirty");
        assertThat(ignored.remote()).isEqualTo(fourth);
    }

    @Test
    void fastForwardToStopsAtTheGivenCommit() {
        server.createRepository("exact", Map.of("v.txt", "1"));
        RepositoryConfig config = repo("exact", "GIT_TOKEN");
        Path target = tmp.resolve("exact");
        git.cloneRepository(config, target, null);
        String second = server.commit("exact", Map.of("v.txt", "2"), "second");
        server.commit("exact", Map.of("v.txt", "3"), "third");

        RepositoryFetch f = git.fastForwardTo(target, config, second, null);

        assertThat(f.status()).isEqualTo("fast-forwarded");
        assertThat(f.after()).isEqualTo(second);
        assertThat(target.resolve("v.txt")).hasContent("2");
    }
}
