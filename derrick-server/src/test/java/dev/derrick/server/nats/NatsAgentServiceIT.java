package dev.derrick.server.nats;

import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.nats.NatsAgent;
import dev.derrick.tck.NatsTestServer;
import io.nats.client.Connection;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.service.Discovery;
import io.nats.service.EndpointStats;
import io.nats.service.InfoResponse;
import io.nats.service.StatsResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent's request-reply subject is an {@code io.nats.service} endpoint: NATS service discovery sees the agent,
 * and the subject still behaves as the protocol says (no queue group, the {@code Derrick-Status} header, a 404 for an
 * operation that does not exist). A real nats-server and an agent in this JVM serving {@code local}.
 */
@Timeout(120)
class NatsAgentServiceIT {
    private static final String PREFIX = "svc";
    @TempDir
    static Path dir;
    static NatsTestServer nats;
    static WorkspaceProvider local;
    static Operations operations;
    static NatsAgent agent;
    static Connection client;

    @BeforeAll
    static void start() throws Exception {
        nats = NatsTestServer.start();
        local = WorkspaceProviders.open("local", Map.of("root", dir.resolve("ws").toString(),
                "cache_dir", dir.resolve("cache").toString()));
        operations = new Operations(local, null, new Redactor());
        agent = NatsAgent.builder(operations).url(nats.url()).prefix(PREFIX).agentId("svc-agent").maxWorkspaces(3)
                .heartbeatInterval(Duration.ofMillis(500)).start();
        client = Nats.connect(nats.url());
    }

    @AfterAll
    static void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (agent != null) {
            agent.close();
        }
        if (operations != null) {
            operations.close();
        }
        if (local != null) {
            local.close();
        }
        if (nats != null) {
            nats.close();
        }
    }

    @Test
    void discoveryFindsTheAgentWithItsSubjectAndMetadata() {
        List<InfoResponse> infos = new Discovery(client, 2000, 10).info(NatsProtocol.SERVICE_NAME);
        assertThat(infos).hasSize(1);
        InfoResponse info = infos.get(0);
        assertThat(info.getVersion()).isEqualTo(NatsProtocol.SERVICE_VERSION);
        assertThat(info.getMetadata()).containsEntry("agent", "svc-agent").containsEntry("prefix", PREFIX)
                .containsEntry("provider", "local").containsEntry("max_workspaces", "3");
        assertThat(info.getEndpoints()).singleElement().satisfies(e -> {
            assertThat(e.getSubject()).isEqualTo(NatsProtocol.agentSubject(PREFIX, "svc-agent", "*"));
            assertThat(e.getQueueGroup()).isNull();
        });
    }

    @Test
    void theSubjectAnswersAsTheProtocolSaysAndTheServiceCountsRequests() throws Exception {
        Message health = client.request(NatsProtocol.agentSubject(PREFIX, "svc-agent", "health"), new byte[0],
                Duration.ofSeconds(10));
        assertThat(health.getHeaders().getFirst(NatsProtocol.STATUS)).isEqualTo("200");
        assertThat(new String(health.getData(), StandardCharsets.UTF_8)).isEqualTo("{\"healthy\":true}");

        Message unknown = client.request(NatsProtocol.agentSubject(PREFIX, "svc-agent", "no_such_op"), new byte[0],
                Duration.ofSeconds(10));
        assertThat(unknown.getHeaders().getFirst(NatsProtocol.STATUS)).isEqualTo("404");
        assertThat(new String(unknown.getData(), StandardCharsets.UTF_8)).contains("\"error\":\"not_found\"")
                .contains("no operation 'no_such_op'");

        StatsResponse stats = new Discovery(client, 2000, 10).stats(NatsProtocol.SERVICE_NAME).get(0);
        EndpointStats ops = stats.getEndpointStatsList().get(0);
        assertThat(ops.getNumRequests()).isGreaterThanOrEqualTo(2);
        assertThat(ops.getNumErrors()).isZero();
    }
}
