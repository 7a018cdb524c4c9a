package dev.derrick.local;

import dev.derrick.api.Capability;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.RepositoryConfig;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Workspace#fork(int)} of sandboxed, cached local workspaces (overlay and copy), real git server. */
@Timeout(180)
class LocalForkIT {
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
        return WorkspaceProviders.open("local", Map.of("root", tmp.resolve("workspaces-" + mode).toString(),
                "cache_dir", tmp.resolve("cache-" + mode).toString(), "cache_mode", mode,
                "environment", Map.of("GIT_TOKEN", TOKEN, "PATH", System.getenv("PATH"))));
    }

    @ParameterizedTest
    @ValueSource(strings = {"auto", "copy"})
    void forksHaveTheCurrentFilesButNotTheProcessesAndResetToTheSameCleanState(String mode) throws Exception {
        String repo = "fork-" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(repo, Map.of("README.md", "v1\n"));
        WorkspaceConfig config = WorkspaceConfig.builder("fork-it")
                .repository(RepositoryConfig.of(server.url(repo), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo built > built.txt").build();
        try (WorkspaceProvider provider = open(mode)) {
            Workspace source = provider.create(config);
            assertThat(source.capabilities()).contains(Capability.FORK);
            source.exec("echo edited > code/app/README.md; echo work > /tmp/notes.txt; rm built.txt");
            source.start(ExecRequest.of("exec sleep 3017"));
            assertThat(source.exec("ps -e -o args= | grep -c '^sleep 3017$' || true").stdout().strip()).isEqualTo("1");

            List<Workspace> forks = source.fork(3);
            assertThat(forks).hasSize(3);
            assertThat(forks).extracting(Workspace::id).doesNotHaveDuplicates().doesNotContain(source.id());
            assertThat(provider.list()).extracting(Workspace::id)
                    .containsAll(forks.stream().map(Workspace::id).toList()).contains(source.id());
            for (Workspace f : forks) {
                assertThat(f.exec("cat code/app/README.md /tmp/notes.txt; test -e built.txt && echo built || echo gone")
                        .stdout()).isEqualTo("edited\nwork\ngone\n");
                assertThat(f.processes()).as("processes are not forked").isEmpty();
                assertThat(f.exec("ps -e -o args= | grep -c '^sleep 3017$' || true").stdout().strip())
                        .as("nor visible: each fork has a sandbox of its own").isEqualTo("0");
            }
            // each fork is its own: a change in one is in no other, nor in the source
            forks.get(0).writeString("only-in-0.txt", "0");
            assertThat(forks.get(1).exists("only-in-0.txt")).isFalse();
            assertThat(source.exists("only-in-0.txt")).isFalse();
            assertThat(source.processes()).as("the source's processes go on").hasSize(1);

            // the clean state is the source's: reset goes back to the setup's result, not the fork point
            forks.get(1).reset();
            assertThat(forks.get(1).exec("cat code/app/README.md built.txt; test -e /tmp/notes.txt || echo no-notes")
                    .stdout()).isEqualTo("v1\nbuilt\nno-notes\n");

            // a fork outlives its source and forks again
            source.close();
            assertThat(forks.get(2).readString("code/app/README.md")).isEqualTo("edited\n");
            List<Workspace> again = forks.get(2).fork(1);
            assertThat(again.get(0).readString("/tmp/notes.txt")).isEqualTo("work\n");
            for (Workspace f : forks) {
                f.close();
            }
            again.get(0).close();
            assertThat(provider.list()).isEmpty();
        }
    }

    @Test
    void aCountOutOfRangeOrNoCacheIsAClearError() {
        WorkspaceConfig config = WorkspaceConfig.builder("fork-bad").setupScript("true").build();
        try (WorkspaceProvider provider = open("auto");
             WorkspaceProvider uncached = WorkspaceProviders.open("local", Map.of("root", tmp.resolve("plain").toString(),
                     "cache", false))) {
            Workspace ws = provider.create(config);
            assertThatThrownBy(() -> ws.fork(0)).isInstanceOf(InvalidConfigException.class)
                    .hasMessage("fork count must be between 1 and 64, got 0");
            assertThatThrownBy(() -> ws.fork(65)).isInstanceOf(InvalidConfigException.class);
            Workspace plain = uncached.create(config);
            assertThat(plain.capabilities()).doesNotContain(Capability.FORK);
            assertThatThrownBy(() -> plain.fork(1)).isInstanceOf(OperationNotSupportedException.class)
                    .hasMessageContaining("fork needs the provisioning cache");
        }
    }
}
