package dev.derrick.server.mcp;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The agent loop over MCP's streamable HTTP transport at {@code /mcp} of a real {@code derrick.jar -s http} child
 * process that requires a bearer token, with the SDK's {@link HttpClientStreamableHttpTransport}.
 */
abstract class McpHttpContract extends McpAgentLoopContract {
    static final Path JAR = Path.of("target", "derrick.jar").toAbsolutePath();
    final String apiToken = "mcp-api-" + java.util.UUID.randomUUID();
    Process server;
    URI base;

    @Override
    protected McpSyncClient connect(Path workspaceConfig, Map<String, String> env) throws Exception {
        assertThat(JAR).as("run the package phase first").isRegularFile();
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + tmp, "-jar", JAR.toString(), "-p", provider(), "-s", "http", "--port",
                String.valueOf(port), "-w", workspaceConfig.toString(), "--cache-dir", dir.resolve("cache").toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("server.log").toFile());
        pb.environment().putAll(env);
        pb.environment().put("DERRICK_API_TOKEN", apiToken);
        server = pb.start();
        base = URI.create("http://127.0.0.1:" + port);
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            assertThat(server.isAlive()).as("derrick exited: %s", log()).isTrue();
            try {
                if (http.send(HttpRequest.newBuilder(base.resolve("/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    break;
                }
            } catch (java.io.IOException notYet) {
                // not listening yet
            }
            assertThat(System.nanoTime()).as("not healthy: %s", log()).isLessThan(deadline);
            Thread.sleep(100);
        }
        return client(apiToken);
    }

    McpSyncClient client(String bearer) {
        HttpRequest.Builder request = HttpRequest.newBuilder();
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        HttpClientStreamableHttpTransport transport = HttpClientStreamableHttpTransport.builder(base.toString())
                .endpoint("/mcp").requestBuilder(request).jsonMapper(new JacksonMcpJsonMapper(JSON)).build();
        McpSyncClient c = McpClient.sync(transport).requestTimeout(Duration.ofMinutes(3))
                .initializationTimeout(Duration.ofSeconds(30)).progressConsumer(progress::add).build();
        c.initialize();
        return c;
    }

    /** A raw initialize request, as a browser page or a careless client would send it. */
    HttpResponse<String> initialize(String bearer, String origin) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("/mcp"))
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                        + "\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                        + "\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}"));
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        if (origin != null) {
            b.header("Origin", origin);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    String log() {
        try {
            return Files.readString(dir.resolve("server.log"));
        } catch (java.io.IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    protected void disconnect() throws Exception {
        try {
            if (client != null) {
                client.closeGracefully();
            }
        } finally {
            if (server != null) {
                server.destroy();
                if (!server.waitFor(60, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
                assertThat(server.exitValue()).as("clean shutdown: %s", log()).isZero();
            }
        }
    }

    @Test
    void mcpNeedsTheApiTokenAndRefusesOtherOrigins() throws Exception {
        assertThatThrownBy(() -> client(null)).isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> client("wrong-token")).isInstanceOf(RuntimeException.class);
        assertThat(initialize(null, null).statusCode()).isEqualTo(401);
        assertThat(initialize("wrong-token", null).statusCode()).isEqualTo(401);
        assertThat(initialize(apiToken, "http://evil.example").statusCode()).as("a page of another origin").isEqualTo(403);
        assertThat(initialize(apiToken, null).statusCode()).isEqualTo(200);
        // the REST API keeps working next to it
        assertThat(HttpClient.newHttpClient().send(HttpRequest.newBuilder(base.resolve("/workspaces"))
                .header("Authorization", "Bearer " + apiToken).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode()).isEqualTo(200);
    }
}
