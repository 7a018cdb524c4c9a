package dev.derrick.remote;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.tck.NatsTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ServerSocket;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** remote_nats against a real nats-server with no agent: every failure is immediate and says what is missing. */
@Timeout(60)
class RemoteNatsWithoutAgentsIT {
    static NatsTestServer nats;

    @BeforeAll
    static void startNats() {
        nats = NatsTestServer.start();
    }

    @AfterAll
    static void stopNats() {
        if (nats != null) {
            nats.close();
        }
    }

    @Test
    void noNatsServerIsAClearProviderUnavailable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String url = "nats://127.0.0.1:" + port;
        assertThat(WorkspaceProviders.probe("remote_nats", Map.of("nats_url", url)).available()).isFalse();
        assertThatThrownBy(() -> WorkspaceProviders.open("remote_nats", Map.of("nats_url", url, "connect_timeout", "1")))
                .isInstanceOf(ProviderUnavailableException.class)
                .hasMessageContaining("no NATS server at " + url);
    }

    @Test
    void createWithNoAgentFailsAtOnceNamingThePrefix() {
        try (WorkspaceProvider p = WorkspaceProviders.open("remote_nats",
                Map.of("nats_url", nats.url(), "prefix", "lonely"))) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> p.create(WorkspaceConfig.builder("x").build()))
                    .isInstanceOf(ProviderUnavailableException.class)
                    .hasMessageContaining("no derrick agent is serving prefix 'lonely'");
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5_000);
        }
    }

    @Test
    void inlineTokensNeverLeaveTheController() {
        try (WorkspaceProvider p = WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url()))) {
            WorkspaceConfig config = WorkspaceConfig.builder("x")
                    .repository(RepositoryConfig.of("https://git.example.com/r.git", "code/r")
                            .withAuth(GitAuth.inline("s3cret")))
                    .build();
            assertThatThrownBy(() -> p.create(config))
                    .isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("auth.token_env")
                    .hasMessageNotContaining("s3cret");
        }
    }

    @Test
    void unknownOptionsAndBadPrefixesAreRejected() {
        assertThatThrownBy(() -> WorkspaceProviders.open("remote_nats", Map.of("natsurl", nats.url())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("natsurl");
        assertThatThrownBy(() -> WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url(), "prefix", "a.*")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("prefix");
    }
}
