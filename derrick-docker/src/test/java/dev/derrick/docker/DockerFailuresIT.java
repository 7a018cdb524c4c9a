package dev.derrick.docker;

import dev.derrick.api.GitAuth;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.Availability;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.Map;

import static dev.derrick.docker.DockerTestSupport.BUSYBOX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each failure gives one clear error and leaves no container behind. */
@Timeout(120)
class DockerFailuresIT {
    static final String TOKEN = "tok-" + java.util.UUID.randomUUID();
    static GitTestServer git;
    static DockerWorkspaceProvider provider;
    static DockerEngine raw;

    @BeforeAll
    static void setUp() {
        DockerTestSupport.requireEngine();
        git = GitTestServer.start(TOKEN);
        git.createRepository("app", Map.of("README.md", "hello\n"));
        provider = DockerWorkspaceProvider.open(Map.of(),
                DockerTestSupport.providerEnv("GIT_TOKEN", TOKEN, "WRONG_TOKEN", "nope-nope"));
        raw = DockerTestSupport.rawEngine();
    }

    @AfterAll
    static void tearDown() {
        if (provider != null) {
            provider.close();
        }
        if (raw != null) {
            raw.close();
        }
        if (git != null) {
            git.close();
        }
    }

    @AfterEach
    void nothingIsLeft() {
        assertThat(provider.list()).isEmpty();
        assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.session", provider.sessionId())).isEmpty();
    }

    @Test
    void missingImageNamesTheImage() {
        WorkspaceConfig config = WorkspaceConfig.builder("missing").image("derrick-test/no-such-image:1").build();
        assertThatThrownBy(() -> provider.create(config))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("derrick-test/no-such-image:1")
                .hasMessageContaining("could not be pulled");
        try (DockerWorkspaceProvider noPull = DockerWorkspaceProvider.open(Map.of("pull", false))) {
            assertThatThrownBy(() -> noPull.create(config)).isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("derrick-test/no-such-image:1").hasMessageContaining("pull");
        }
    }

    @Test
    void failingSetupCarriesOutputAndExitCode() {
        WorkspaceConfig config = WorkspaceConfig.builder("failing").image(BUSYBOX)
                .setupScript("echo preparing; echo \"broken: $MODE\" >&2; exit 7").env("MODE", "strict").build();
        assertThatThrownBy(() -> provider.create(config))
                .isInstanceOfSatisfying(SetupFailedException.class, e -> {
                    assertThat(e.exitCode()).isEqualTo(7);
                    assertThat(e.output()).contains("preparing\n").contains("broken: strict\n");
                    assertThat(e.getMessage()).contains("failing").contains("7").contains("broken: strict");
                });
    }

    @Test
    void setupTimeoutIsAFailureToo() {
        try (DockerWorkspaceProvider quick = DockerWorkspaceProvider.open(Map.of("setup_timeout", "1"))) {
            assertThatThrownBy(() -> quick.create(WorkspaceConfig.builder("slow").image(BUSYBOX)
                    .setupScript("echo going; sleep 60").build()))
                    .isInstanceOfSatisfying(SetupFailedException.class,
                            e -> assertThat(e.getMessage()).contains("timed out"));
            assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.session", quick.sessionId())).isEmpty();
        }
    }

    @Test
    void wrongTokenFailsTheCloneWithoutShowingIt() {
        WorkspaceConfig config = WorkspaceConfig.builder("auth").image(BUSYBOX)
                .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.fromEnv("WRONG_TOKEN")))
                .build();
        assertThatThrownBy(() -> provider.create(config))
                .isInstanceOfSatisfying(GitOperationException.class, e -> assertThat(e.authenticationFailed()).isTrue())
                .hasMessageContaining("authentication")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("nope-nope"));
    }

    @Test
    void unsetTokenVariableIsAConfigError() {
        WorkspaceConfig config = WorkspaceConfig.builder("auth").image(BUSYBOX)
                .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.fromEnv("NOT_SET_ANYWHERE")))
                .build();
        assertThatThrownBy(() -> provider.create(config)).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("NOT_SET_ANYWHERE");
    }

    @Test
    void noEngineAtTheAddressIsReportedAtOpenAndByProbe(@TempDir Path tmp) throws Exception {
        String missing = "unix://" + tmp.resolve("nothing-here.sock");
        assertThatThrownBy(() -> WorkspaceProviders.open("docker", Map.of("docker_host", missing)))
                .isInstanceOf(ProviderUnavailableException.class)
                .hasMessageContaining(missing);
        Availability availability = WorkspaceProviders.probe("docker", Map.of("docker_host", missing));
        assertThat(availability.available()).isFalse();
        assertThat(availability.reason()).contains(missing);

        // A socket file whose listener answers nothing Docker-like (accepts, never replies) times out clearly.
        Path sock = tmp.resolve("silent.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            server.close();
            assertThatThrownBy(() -> DockerWorkspaceProvider.open(Map.of("docker_host", "unix://" + sock)))
                    .isInstanceOf(ProviderUnavailableException.class)
                    .hasMessageContaining("unix://" + sock);
        }
        assertThat(WorkspaceProviders.probe("docker", Map.of()).available()).isTrue();
    }

    @Test
    void anExplicitApiVersionTheEngineSpeaksWorks() {
        try (DockerWorkspaceProvider pinned = DockerWorkspaceProvider.open(Map.of("api_version", "1.41"));
             var ws = pinned.create(WorkspaceConfig.builder("pinned").image(BUSYBOX).build())) {
            assertThat(ws.exec("echo pinned").stdout()).isEqualTo("pinned\n");
        }
        assertThat(WorkspaceProviders.probe("docker", Map.of("api_version", "1.99")).reason()).contains("1.99");
    }
}
