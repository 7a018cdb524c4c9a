package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.ExecResult;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.server.nats.Fleet;
import dev.derrick.tck.NatsTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code derrick -p remote_nats -s http}: an HTTP gateway in front of a fleet of three agents. The original HTTP flow
 * passes through it, and {@code remote_http} drives it like any provider.
 */
@Timeout(180)
class NatsGatewayIT {
    static NatsTestServer nats;
    static Fleet fleet;
    static ApiClient api;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        nats = NatsTestServer.start();
        fleet = new Fleet(nats.url(), "gw").agent("g1", 10).agent("g2", 10).agent("g3", 10);
        Path config = fleet.dir().resolve("gateway.json");
        Files.writeString(config, "{\"name\": \"gateway\", \"setup_script\": \"echo gateway > setup.txt\"}");
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        fleet.gateway(port, config);
        api = new ApiClient(URI.create("http://127.0.0.1:" + port), null);
    }

    @AfterAll
    static void stop() {
        if (fleet != null) {
            fleet.close();
        }
        if (nats != null) {
            nats.close();
        }
    }

    @Test
    void theOriginalHttpFlowPassesThroughTheGateway() {
        assertThat(api.ok("GET", "/health", null).get("healthy").asBoolean()).isTrue();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            ids.add(api.create("{}"));
        }
        String id = ids.iterator().next();
        JsonNode out = api.cmd(id, "cat setup.txt; echo err >&2");
        assertThat(out.get("exit_code").asInt()).isZero();
        assertThat(out.get("output").asText()).contains("gateway\n").contains("err\n");
        assertThat(out.get("timed_out").asBoolean()).isFalse();

        HttpResponse<byte[]> failed = api.send("POST", "/workspaces/" + id + "/cmd", "{\"cmd\": \"echo no; exit 3\"}");
        assertThat(failed.statusCode()).isEqualTo(422);
        assertThat(ApiClient.json(failed).get("exit_code").asInt()).isEqualTo(3);
        assertThat(ApiClient.json(failed).get("output").asText()).contains("no");
        assertThat(api.send("POST", "/workspaces/" + id + "/cmd", "{\"cmd\": \"true\"}").statusCode()).isEqualTo(200);

        String content = Base64.getEncoder().encodeToString("über\n".getBytes(StandardCharsets.UTF_8));
        assertThat(api.ok("POST", "/workspaces/" + id + "/write_file",
                "{\"path\": \"dir/x.txt\", \"content\": \"" + content + "\"}").get("success").asBoolean()).isTrue();
        HttpResponse<byte[]> read = api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\": \"dir/x.txt\"}");
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(new String(read.body(), StandardCharsets.UTF_8)).isEqualTo("über\n");
        HttpResponse<byte[]> missing = api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\": \"nope.txt\"}");
        assertThat(missing.statusCode()).isGreaterThanOrEqualTo(400);
        assertThat(ApiClient.json(missing).get("message").asText()).contains("nope.txt");

        assertThat(api.ok("GET", "/workspaces/" + id, null).get("id").asText()).isEqualTo(id);
        JsonNode list = api.ok("GET", "/workspaces", null).get("workspaces");
        Set<String> listed = new HashSet<>();
        list.forEach(w -> listed.add(w.get("id").asText()));
        assertThat(listed).containsAll(ids);

        String own = api.create("{\"config\": {\"name\": \"own\", \"setup_script\": \"echo own > setup.txt\"}}");
        assertThat(api.cmd(own, "cat setup.txt").get("output").asText()).isEqualTo("own\n");

        for (String w : ids) {
            assertThat(api.send("DELETE", "/workspaces/" + w, null).statusCode()).isEqualTo(200);
        }
        assertThat(api.send("DELETE", "/workspaces/" + own, null).statusCode()).isEqualTo(200);
        HttpResponse<byte[]> gone = api.send("POST", "/workspaces/" + id + "/cmd_with_output", "{\"cmd\": \"true\"}");
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(ApiClient.json(gone).get("error").asText()).isEqualTo("workspace_not_found");
    }

    @Test
    void remoteHttpDrivesTheGatewayLikeAnyProvider() {
        try (WorkspaceProvider p = WorkspaceProviders.open("remote_http", Map.of("url", "http://127.0.0.1:" + port))) {
            Workspace ws = p.create(WorkspaceConfig.builder("via-http").setupScript("echo http > setup.txt").build());
            ExecResult r = ws.exec("cat setup.txt; exit 4");
            assertThat(r.exitCode()).isEqualTo(4);
            assertThat(r.stdout()).isEqualTo("http\n");
            ws.writeString("a/b.txt", "bytes");
            assertThat(ws.readString("a/b.txt")).isEqualTo("bytes");
            assertThat(ws.info().id()).isEqualTo(ws.id());
            assertThat(p.get(ws.id()).id()).isEqualTo(ws.id());
            ws.close();
            assertThatThrownBy(() -> p.get(ws.id())).isInstanceOf(WorkspaceNotFoundException.class);
        }
    }
}
