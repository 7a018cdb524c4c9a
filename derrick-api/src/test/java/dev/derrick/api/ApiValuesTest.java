package dev.derrick.api;

import dev.derrick.api.spi.ProviderOptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ApiValuesTest {
    @Test
    void pathsStayUnderTheRoot() {
        assertThat(WorkspacePaths.normalizeRelative("/code/./repo/", "p")).isEqualTo("code/repo");
        assertThat(WorkspacePaths.normalizeRelative("a/b/../c", "p")).isEqualTo("a/c");
        assertThat(WorkspacePaths.normalizeRelative("/", "p")).isEmpty();
        assertThatThrownBy(() -> WorkspacePaths.normalizeRelative("a/../../etc", "working_dir"))
                .isInstanceOf(InvalidPathException.class).hasMessage("working_dir 'a/../../etc' climbs out of the workspace root");
    }

    @Test
    void configBuilderValidates() {
        WorkspaceConfig config = WorkspaceConfig.builder("demo")
                .repository(RepositoryConfig.of("https://h/r.git", "/code/r").withAuth(GitAuth.fromEnv("T")))
                .setupScript("make").env("CI", "true").build();
        assertThat(config.repositories().get(0).path()).isEqualTo("code/r");
        assertThat(config.withEnv(Map.of("X", "1")).env()).containsEntry("CI", "true").containsEntry("X", "1");
        assertThatThrownBy(() -> WorkspaceConfig.builder(" ").build()).hasMessageContaining("no 'name'");
        assertThatThrownBy(() -> WorkspaceConfig.builder("x").repository("u1", "a").repository("u2", "a/b").build())
                .hasMessageContaining("overlap");
        assertThatThrownBy(() -> WorkspaceConfig.builder("x").env("A=B", "1").build()).hasMessageContaining("A=B");
    }

    @Test
    void authNeverShowsItsToken() {
        GitAuth auth = GitAuth.inline("sekrit-token");
        assertThat(auth.toString()).doesNotContain("sekrit-token");
        assertThat(RepositoryConfig.of("https://h/r.git", "r").withAuth(auth).toString()).doesNotContain("sekrit-token");
        assertThat(auth.resolveToken(Map.of())).isEqualTo("sekrit-token");
        assertThatThrownBy(() -> GitAuth.fromEnv("MISSING").resolveToken(Map.of()))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("'MISSING'");
        assertThatThrownBy(() -> new GitAuth("A", "b", null)).hasMessageContaining("both");
    }

    @Test
    void execRequestsAreValidated() {
        ExecRequest r = ExecRequest.of("ls").withWorkingDir("code").withEnv("A", "1").withTimeout(Duration.ofSeconds(2));
        assertThat(r.env()).containsEntry("A", "1");
        assertThat(r.timeout()).hasSeconds(2);
        assertThatThrownBy(() -> ExecRequest.of(" ")).hasMessageContaining("'cmd'");
        assertThatThrownBy(() -> ExecRequest.of("x").withTimeout(Duration.ZERO)).hasMessageContaining("positive");
        assertThat(new ExecResult(0, null, null, null, null, false, false).succeeded()).isTrue();
        assertThat(new ExecResult(0, "", "", "", Duration.ZERO, true, false).succeeded()).isFalse();
    }

    @Test
    void providerOptionsRejectUnknownKeysAndBadValues() {
        assertThatThrownBy(() -> ProviderOptions.of("local", Map.of("rooot", "/x"), Set.of("root")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'rooot' (did you mean 'root'?)").hasMessageContaining("[root]");
        ProviderOptions options = ProviderOptions.of("local", Map.of("root", "/x", "timeout", "1.5", "n", "x"),
                Set.of("root", "timeout", "n"));
        assertThat(options.path("root", null)).isEqualTo(Path.of("/x"));
        assertThat(options.duration("timeout", null)).isEqualTo(Duration.ofMillis(1500));
        assertThatThrownBy(() -> options.longValue("n", 1)).hasMessageContaining("option 'n'");
    }

    @Test
    void unknownProviderListsTheAvailableOnes() {
        assertThatThrownBy(() -> WorkspaceProviders.open("nope"))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessageStartingWith("no workspace provider named 'nope'; available: ");
        assertThat(new ProviderNotFoundException("lcoal", java.util.List.of("docker", "local")))
                .hasMessage("no workspace provider named 'lcoal' (did you mean 'local'?); available: docker, local");
    }

    @Test
    void fetchStatusesKeepTheirWireNames() {
        assertThat(java.util.Arrays.stream(FetchStatus.values()).map(FetchStatus::wireName))
                .containsExactly("cloned", "up-to-date", "fast-forwarded", "dirty", "diverged", "detached");
        for (FetchStatus s : FetchStatus.values()) {
            assertThat(FetchStatus.fromWireName(s.wireName())).isSameAs(s);
        }
        RepositoryFetch f = new RepositoryFetch("code/app", "a", "b", true, FetchStatus.FAST_FORWARDED, "b");
        assertThat(f.status()).isEqualTo("fast-forwarded");
        assertThat(f.fetchStatus()).isEqualTo(FetchStatus.FAST_FORWARDED);
        assertThat(new RepositoryFetch("p", "a", "a", false, "up-to-date").fetchStatus()).isEqualTo(FetchStatus.UP_TO_DATE);
        assertThatThrownBy(() -> new RepositoryFetch("p", "a", "a", false, "sideways").fetchStatus())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("sideways");
    }

    @Test
    void aProgressListenerIsALambdaAndCanBeCancelled() {
        java.util.List<String> tasks = new java.util.ArrayList<>();
        ProgressListener listener = (title, total) -> tasks.add(title + "/" + total);
        listener.beginTask("clone", 3);
        listener.update(1);
        listener.endTask();
        assertThat(tasks).containsExactly("clone/3");
        assertThat(listener.isCancelled()).isFalse();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        ProgressListener cancellable = listener.cancelledWhen(stop::get);
        cancellable.beginTask("setup", ProgressListener.UNKNOWN);
        assertThat(tasks).containsExactly("clone/3", "setup/0");
        assertThat(cancellable.isCancelled()).isFalse();
        stop.set(true);
        assertThat(cancellable.isCancelled()).isTrue();
        assertThat(ProgressListener.NONE.isCancelled()).isFalse();
    }

    @Test
    void pathErrorsHaveTheirOwnTypeAndStillAreInvalidRequests() {
        String nul = "a" + (char) 0 + "b";
        assertThatThrownBy(() -> WorkspacePaths.normalizeRelative(nul, "path"))
                .isInstanceOf(InvalidPathException.class).isInstanceOf(InvalidConfigException.class)
                .satisfies(e -> assertThat(((InvalidPathException) e).path()).isEqualTo(nul));
    }

    @Test
    void anArgvRequestIsAShellLineThatPassesEveryArgumentVerbatim() throws Exception {
        String tricky = "it's \"q\" $HOME `id` $(id) * ~ \\ ; end\nline";
        ExecRequest r = ExecRequest.argv("printf", "%s|", tricky, "");
        assertThat(r.isArgv()).isTrue();
        assertThat(r.argv()).containsExactly("printf", "%s|", tricky, "");
        assertThat(r.command()).isEqualTo(ExecRequest.shellLine(r.argv())).startsWith("exec 'printf' ");
        assertThat(ExecRequest.quote("it's")).isEqualTo("'it'\\''s'");
        ExecRequest moved = r.withWorkingDir("d").withEnv("A", "b").withTimeout(java.time.Duration.ofSeconds(5));
        assertThat(moved.argv()).isEqualTo(r.argv());
        assertThat(moved.command()).isEqualTo(r.command());
        assertThat(ExecRequest.of("echo hi").isArgv()).isFalse();

        Process p = new ProcessBuilder("sh", "-c", r.command()).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(out).isEqualTo(tricky + "||");

        assertThatThrownBy(() -> ExecRequest.argv("echo", "a" + (char) 0)).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> new ExecRequest("rm -rf x", null, null, null, java.util.List.of("echo")))
                .isInstanceOf(InvalidConfigException.class);
    }
}
