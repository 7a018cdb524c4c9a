package dev.derrick.junit;

import dev.derrick.api.Workspace;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/** The extension against the real {@code local} provider: real directories, real processes, a real git server. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class LocalProviderExtensionIT {
    static final Map<String, String> ROOTS = new ConcurrentHashMap<>();
    static final Map<String, String> IDS = new ConcurrentHashMap<>();
    private static final String TOKEN = "junit-local-it-token-93ab";
    private static GitTestServer git;
    private static Path gitConfig;

    @BeforeAll
    static void startGit() throws Exception {
        git = GitTestServer.start(TOKEN);
        git.createRepository("lib", Map.of("README.md", "lib\n"));
        gitConfig = Files.createDirectories(Path.of("target")).resolve("junit-local-git.json");
        Files.writeString(gitConfig, """
                {"name": "junit-local-git",
                 "repositories": [{"url": "%s", "path": "code/lib", "auth": {"token": "%s"}}]}
                """.formatted(git.url("lib"), TOKEN));
    }

    @AfterAll
    static void stopGit() throws Exception {
        git.close();
        Files.deleteIfExists(gitConfig);
    }

    static void record(String name, Workspace ws) {
        ROOTS.put(name, ws.info().root());
        IDS.put(name, ws.id());
    }

    private static EngineExecutionResults run(Class<?> sample) {
        ROOTS.clear();
        IDS.clear();
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(sample)).execute();
    }

    @DerrickTest
    @TestMethodOrder(MethodOrderer.MethodName.class)
    static class LocalSample {
        @DerrickWorkspace(config = "classpath:local-workspace.json")
        static Workspace shared;

        @DerrickWorkspace(config = "classpath:local-workspace.json")
        Workspace fresh;

        @Test
        void a_first() {
            record("a.shared", shared);
            record("a.fresh", fresh);
            assertThat(fresh.exec("cat state.txt && echo $CI").stdout()).isEqualTo("clean\ntrue\n");
            fresh.writeString("state.txt", "dirty\n");
        }

        @Test
        void b_second() {
            record("b.shared", shared);
            record("b.fresh", fresh);
            assertThat(fresh.readString("state.txt")).isEqualTo("clean\n");
        }

        @Test
        void c_fails() {
            record("c.fresh", fresh);
            throw new AssertionError("deliberate failure");
        }
    }

    @Test
    void perTestAndPerClassWorkspacesFromTheLocalProviderAndEverythingRemovedAfterwards() {
        run(LocalSample.class).testEvents().assertStatistics(s -> s.started(3).succeeded(2).failed(1));
        assertThat(IDS.get("a.shared")).isEqualTo(IDS.get("b.shared"));
        assertThat(Set.of(IDS.get("a.fresh"), IDS.get("b.fresh"), IDS.get("c.fresh"), IDS.get("a.shared"))).hasSize(4);
        assertThat(ROOTS).hasSize(5);
        assertThat(ROOTS.values()).allSatisfy(root -> assertThat(Path.of(root)).isAbsolute().doesNotExist());
    }

    @DerrickTest
    static class GitSample {
        @Test
        void cloned(@DerrickWorkspace(config = "target/junit-local-git.json") Workspace ws) {
            record("git", ws);
            assertThat(ws.readString("code/lib/README.md")).isEqualTo("lib\n");
            assertThat(ws.readString("code/lib/.git/config")).doesNotContain(TOKEN);
            assertThat(ws.info().repositories()).singleElement().satisfies(r -> assertThat(r.branch()).isEqualTo("main"));
        }
    }

    @Test
    void aFileConfigClonesFromTheTokenProtectedGitServer() {
        run(GitSample.class).testEvents().assertStatistics(s -> s.started(1).succeeded(1));
        assertThat(Path.of(ROOTS.get("git"))).doesNotExist();
    }

    @DerrickTest
    @TestMethodOrder(MethodOrderer.MethodName.class)
    static class ResetSample {
        @DerrickWorkspace(config = "classpath:local-workspace.json", resetBetweenTests = true)
        static Workspace shared;

        @Test
        void a_dirties() {
            shared.writeString("state.txt", "dirty\n");
        }

        @Test
        void b_isClean() {
            assertThat(shared.readString("state.txt")).isEqualTo("clean\n");
        }
    }

    @DerrickTest
    @TestMethodOrder(MethodOrderer.MethodName.class)
    static class ResetWithoutCacheSample {
        @DerrickWorkspace(config = "classpath:local-workspace.json", resetBetweenTests = true, options = "cache=false")
        static Workspace shared;

        @Test
        void a_dirties() {
            shared.writeString("state.txt", "dirty\n");
        }

        @Test
        void b_isClean() {
            assertThat(shared.readString("state.txt")).isEqualTo("clean\n");
        }
    }

    @Test
    void resetBetweenTestsReturnsASharedWorkspaceToItsCleanState() {
        run(ResetSample.class).testEvents().assertStatistics(s -> s.started(2).succeeded(2));
    }

    @Test
    void resetBetweenTestsWithAProviderThatCannotResetFailsTheNextTestClearly() {
        EngineExecutionResults results = run(ResetWithoutCacheSample.class);
        results.testEvents().assertStatistics(s -> s.started(2).succeeded(1).failed(1));
        Event failed = results.testEvents().failed().list().get(0);
        Throwable error = failed.getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow()
                .getThrowable().orElseThrow();
        assertThat(error).isInstanceOf(org.junit.jupiter.api.extension.ExtensionConfigurationException.class)
                .hasMessageContaining("resetBetweenTests").hasMessageContaining("provider 'local' cannot reset");
        assertThat(failed.getTestDescriptor().getDisplayName()).startsWith("b_isClean");
    }
}
