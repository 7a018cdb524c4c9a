package org.example.derrick.sandbox;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.StreamKind;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The third-party backend, found only through its services file and used only through derrick-api, against the
 * real token-protected git server.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SandboxProviderTest {
    private static final String TOKEN = "sandbox-test-token-5f1c";
    private static GitTestServer git;

    @TempDir
    Path root;
    /** The engine's cache of clean states (on by default), kept out of {@code root} so that root ends empty. */
    @TempDir
    Path cache;

    @BeforeAll
    static void startGit() {
        git = GitTestServer.start(TOKEN);
        git.createRepository("app", Map.of("README.md", "hello\n", "build.sh", "echo building; echo warn >&2\n"));
    }

    @AfterAll
    static void stopGit() {
        git.close();
    }

    private WorkspaceConfig config() {
        return WorkspaceConfig.builder("sandbox-test")
                .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.inline(TOKEN)))
                .setupScript("echo ready > setup.txt")
                .env("CI", "true")
                .build();
    }

    @Test
    void isFoundThroughServiceLoaderByNameWithNoOtherRegistration() {
        assertThat(WorkspaceProviders.available()).contains("sandbox");
        assertThat(WorkspaceProviders.find("SANDBOX")).get()
                .isInstanceOf(SandboxProviderFactory.class);
        assertThat(WorkspaceProviders.probe("sandbox", Map.of("root", root.toString())).available()).isTrue();
    }

    @Test
    void createsExecsStreamsResetsFetchesAndCleansUp() {
        Path home;
        try (WorkspaceProvider sandbox = WorkspaceProviders.open("sandbox", Map.of("root", root.toString(), "cache_dir", cache.toString()))) {
            Workspace ws = sandbox.create(config());
            home = Path.of(ws.info().root());
            assertThat(ws.readString("code/app/README.md")).isEqualTo("hello\n");
            assertThat(ws.readString("setup.txt")).isEqualTo("ready\n");
            assertThat(ws.info().repositories()).singleElement()
                    .satisfies(r -> assertThat(r.branch()).isEqualTo("main"));
            // the token is nowhere in the workspace
            assertThat(grep(home, TOKEN)).isEmpty();

            List<String> chunks = new CopyOnWriteArrayList<>();
            ExecResult r = ws.exec(ExecRequest.of("sh build.sh && echo $CI").withWorkingDir("code/app"),
                    (stream, chunk) -> chunks.add(stream + ":" + chunk));
            assertThat(r.succeeded()).isTrue();
            assertThat(r.stdout()).isEqualTo("building\ntrue\n");
            assertThat(r.stderr()).isEqualTo("warn\n");
            assertThat(String.join("", chunks)).contains(StreamKind.STDERR + ":warn");

            ExecResult slow = ws.exec(ExecRequest.of("echo before; sleep 30").withTimeout(Duration.ofMillis(500)));
            assertThat(slow.timedOut()).isTrue();
            assertThat(slow.stdout()).isEqualTo("before\n");

            ws.writeString("code/app/scratch.txt", "dirty");
            ws.reset();
            assertThat(ws.listFiles("code/app")).extracting(e -> e.name()).doesNotContain("scratch.txt");

            String newCommit = git.commit("app", Map.of("NEW.md", "new\n"), "second");
            List<RepositoryFetch> fetched = ws.fetch();
            assertThat(fetched).singleElement().satisfies(f -> {
                assertThat(f.updated()).isTrue();
                assertThat(f.after()).isEqualTo(newCommit);
                assertThat(f.status()).isEqualTo("fast-forwarded");
            });
            assertThat(ws.readString("code/app/NEW.md")).isEqualTo("new\n");
            assertThat(sandbox.list()).containsExactly(ws);
        }
        assertThat(home).doesNotExist();
        assertThat(root).isEmptyDirectory();
    }

    @Test
    void withTheCacheOffEveryCreateBuildsAndResetAndCheckpointsStillWork() throws Exception {
        try (WorkspaceProvider sandbox = WorkspaceProviders.open("sandbox",
                Map.of("root", root.toString(), "cache_dir", cache.toString(), "cache", "false"))) {
            Workspace ws = sandbox.create(config());
            assertThat(ws.info().cacheEntry()).isNull();
            ws.writeString("setup.txt", "overwritten");
            String checkpoint = ws.checkpoint();
            ws.writeString("code/app/README.md", "edited");

            ws.restore(checkpoint);
            assertThat(ws.readString("code/app/README.md")).isEqualTo("hello\n");
            assertThat(ws.readString("setup.txt")).isEqualTo("overwritten");
            ws.reset();
            assertThat(ws.readString("setup.txt")).isEqualTo("ready\n");

            Workspace second = sandbox.create(config());
            assertThat(second.readString("setup.txt")).isEqualTo("ready\n");
        }
        try (Stream<Path> left = Files.list(cache)) {
            assertThat(left).as("nothing cached with cache=false").isEmpty();
        }
        assertThat(root).isEmptyDirectory();
    }

    @Test
    void withTheCacheOnTheSecondCreateIsMadeFromTheEntryTheFirstBuilt() throws Exception {
        Path runs = Files.createTempFile("sandbox-setup-runs", ".txt");
        try (WorkspaceProvider sandbox = WorkspaceProviders.open("sandbox",
                Map.of("root", root.toString(), "cache_dir", cache.toString()))) {
            WorkspaceConfig counting = WorkspaceConfig.builder("sandbox-count")
                    .setupScript("echo run >> " + runs + "; echo ready > setup.txt").build();
            Workspace first = sandbox.create(counting);
            Workspace second = sandbox.create(counting);
            assertThat(Files.readAllLines(runs)).as("the setup script ran once").containsExactly("run");
            assertThat(first.info().cacheEntry()).isNotNull().isEqualTo(second.info().cacheEntry());
            assertThat(second.readString("setup.txt")).isEqualTo("ready\n");
            assertThat(second.id()).isNotEqualTo(first.id());
        } finally {
            Files.delete(runs);
        }
    }

    @Test
    void aChangedCacheKeyFileRebuildsTheEntryInTheBackgroundAndLeavesNoBaseBehind() throws Exception {
        git.createRepository("keyed", Map.of("deps.txt", "v1\n", "README.md", "readme\n"));
        WorkspaceConfig keyed = WorkspaceConfig.builder("sandbox-keyed")
                .repository(RepositoryConfig.of(git.url("keyed"), "code/keyed").withAuth(GitAuth.inline(TOKEN)))
                .setupScript("cat code/keyed/deps.txt > built-from.txt").cacheKeyFile("deps.txt").build();
        try (WorkspaceProvider sandbox = WorkspaceProviders.open("sandbox",
                Map.of("root", root.toString(), "cache_dir", cache.toString()))) {
            try (Workspace first = sandbox.create(keyed)) {
                assertThat(first.readString("built-from.txt")).isEqualTo("v1\n");
            }
            git.commit("keyed", Map.of("deps.txt", "v2\n"), "the dependencies move");
            try (Workspace second = sandbox.create(keyed)) {
                assertThat(second.readString("code/keyed/deps.txt")).as("fetched at create").isEqualTo("v2\n");
                assertThat(second.readString("built-from.txt")).as("from the entry built on v1").isEqualTo("v1\n");
            }
            // The engine rebuilds the entry in the background (through makeBase/runStep/snapshot/discardBase).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!entryBuiltFrom(cache.resolve("sandbox"), "v2\n")) {
                assertThat(System.nanoTime()).as("a newer entry built from v2 within 60 s").isLessThan(deadline);
                Thread.sleep(200);
            }
            try (Workspace third = sandbox.create(keyed)) {
                assertThat(third.readString("built-from.txt")).isEqualTo("v2\n");
            }
        }
        assertThat(root).as("the background build's base was discarded").isEmptyDirectory();
    }

    private static boolean entryBuiltFrom(Path cacheDir, String content) throws java.io.IOException {
        try (Stream<Path> entries = Files.list(cacheDir)) {
            return entries.filter(e -> Files.isRegularFile(e.resolve("entry.json"))).anyMatch(e -> {
                try {
                    return content.equals(Files.readString(e.resolve(SandboxProvider.TREE).resolve("built-from.txt")));
                } catch (java.io.IOException missing) {
                    return false;
                }
            });
        }
    }

    @Test
    void aFailingSetupLeavesNothingBehind() {
        try (WorkspaceProvider sandbox = WorkspaceProviders.open("sandbox", Map.of("root", root.toString(), "cache_dir", cache.toString()))) {
            WorkspaceConfig bad = WorkspaceConfig.builder("bad").setupScript("echo oops; exit 3").build();
            assertThatThrownBy(() -> sandbox.create(bad)).isInstanceOfSatisfying(SetupFailedException.class, e -> {
                assertThat(e.exitCode()).isEqualTo(3);
                assertThat(e.output()).contains("oops");
            });
            assertThat(root).isEmptyDirectory();
        }
    }

    @Test
    void aWrongTokenFailsCloneWithoutLeakingIt() {
        try (WorkspaceProvider sandbox = WorkspaceProviders.open("sandbox", Map.of("root", root.toString(), "cache_dir", cache.toString()))) {
            WorkspaceConfig bad = WorkspaceConfig.builder("bad")
                    .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.inline("wrong-token-123")))
                    .build();
            assertThatThrownBy(() -> sandbox.create(bad)).isInstanceOfSatisfying(dev.derrick.api.GitOperationException.class,
                            e -> assertThat(e.authenticationFailed()).isTrue())
                    .hasMessageContaining(git.url("app")).hasMessageNotContaining("wrong-token-123");
            assertThat(root).isEmptyDirectory();
        }
    }

    @Test
    void unknownOptionsAreRejected() {
        assertThatThrownBy(() -> WorkspaceProviders.open("sandbox", Map.of("colour", "blue")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("colour").hasMessageContaining("root");
    }

    private static List<Path> grep(Path dir, String needle) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).filter(p -> {
                try {
                    return new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.ISO_8859_1).contains(needle);
                } catch (java.io.IOException e) {
                    return false;
                }
            }).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
