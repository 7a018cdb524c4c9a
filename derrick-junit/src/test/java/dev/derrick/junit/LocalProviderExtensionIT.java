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

    /** The tests of the reset samples; each sample declares its own shared workspace. */
    @TestMethodOrder(MethodOrderer.MethodName.class)
    abstract static class ResetTests {
        abstract Workspace shared();

        @Test
        void a_dirties() {
            shared().writeString("state.txt", "dirty\n");
        }

        @Test
        void b_isClean() {
            assertThat(shared().readString("state.txt")).isEqualTo("clean\n");
        }
    }

    @DerrickTest
    static class ResetSample extends ResetTests {
        @DerrickWorkspace(config = "classpath:local-workspace.json", resetBetweenTests = true)
        static Workspace shared;

        @Override
        Workspace shared() {
            return shared;
        }
    }

    @DerrickTest
    static class ResetWithoutCacheSample extends ResetTests {
        @DerrickWorkspace(config = "classpath:local-workspace.json", resetBetweenTests = true, options = "cache=false")
        static Workspace shared;

        @Override
        Workspace shared() {
            return shared;
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

    /** Where {@link KeepSample}'s provider puts its workspaces (relative to the module directory, as the child's). */
    static final String KEEP_ROOT = "target/junit-keep-root";

    @DerrickTest
    @TestMethodOrder(MethodOrderer.MethodName.class)
    static class KeepSample {
        @DerrickWorkspace(config = "classpath:local-workspace.json", cleanup = CleanupMode.ON_SUCCESS,
                options = "root=" + KEEP_ROOT)
        Workspace ws;

        @Test
        void a_fails() {
            record("fails", ws);
            ws.writeString("evidence.txt", "look here");
            throw new AssertionError("deliberate failure");
        }

        @Test
        void b_passes() {
            record("passes", ws);
        }
    }

    @Test
    void aFailedTestsKeptWorkspaceOutlivesTheJvmAndTheNextProviderStartRemovesIt() throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), KeepChild.class.getName())
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(child.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(child.exitValue()).as(output).isZero();
        Map<String, String> seen = new java.util.HashMap<>();
        java.util.List<String> kept = new java.util.ArrayList<>();
        for (String line : output.split("\n")) {
            String[] f = line.split(" ", 3);
            if ((f[0].equals("ROOT") || f[0].equals("ID")) && f.length == 3) {
                seen.put(f[0] + "." + f[1], f[2]);
            } else if (f[0].equals("KEPT")) {
                kept.add(line.substring(5));
            }
        }
        assertThat(output).contains("STATS started=2 succeeded=1 failed=1");
        Path failed = Path.of(seen.get("ROOT.fails"));
        assertThat(Path.of(seen.get("ROOT.passes"))).doesNotExist();
        assertThat(failed.resolve("evidence.txt")).as("kept past the provider's close and the JVM's end")
                .hasContent("look here");
        assertThat(failed.resolve("state.txt")).hasContent("clean");
        assertThat(kept).singleElement().satisfies(v -> assertThat(v).contains(seen.get("ID.fails"))
                .contains(failed.toString()).contains("detached").contains("next start of provider 'local'"));

        try (dev.derrick.api.WorkspaceProvider next = dev.derrick.api.WorkspaceProviders.open("local",
                Map.of("root", KEEP_ROOT))) {
            assertThat(failed).as("reaped by the next provider start").doesNotExist();
            assertThat(next.list()).isEmpty();
        }
    }
}
