package dev.derrick.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * MCP {@code exec} of {@code true}, round trip, over stdio and over streamable HTTP, next to the HTTP API's
 * {@code cmd_with_output} — all against real {@code derrick.jar} processes with the same provider, in one run,
 * alternating blocks so drift hits every variant alike. One child runs {@code -s mcp} (stdio, launched by the MCP
 * SDK's client as an agent would), one runs {@code -s http} (serving both {@code /workspaces/…/cmd_with_output} and
 * {@code /mcp}); each gets one workspace.
 *
 * <pre>
 * java -cp … dev.derrick.bench.McpRoundTripBench [provider=local] [runs=300] [jar=derrick-server/target/derrick.jar]
 * </pre>
 */
public final class McpRoundTripBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private McpRoundTripBench() {
    }

    public static void main(String[] args) throws Exception {
        String provider = args.length > 0 ? args[0] : "local";
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        Path jar = Path.of(args.length > 2 ? args[2] : "derrick-server/target/derrick.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException(jar + " is missing: build it first (mvn -pl derrick-server -am package)");
        }
        int warmup = 50;
        int block = 25;
        Path dir = Files.createTempDirectory("derrick-mcp-bench-");
        Path config = dir.resolve("workspace.json");
        Files.writeString(config, "{\"name\": \"bench\"}");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Process http = new ProcessBuilder(javaBin, "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp-http")),
                "-jar", jar.toString(), "-p", provider, "-s", "http", "--port", String.valueOf(port), "-w",
                config.toString(), "--log-level", "warn").redirectErrorStream(true)
                .redirectOutput(dir.resolve("http.log").toFile()).start();
        McpSyncClient stdio = null;
        McpSyncClient overHttp = null;
        try {
            URI base = URI.create("http://127.0.0.1:" + port);
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            awaitHealthy(client, base, http, dir);
            stdio = McpClient.sync(new StdioClientTransport(ServerParameters.builder(javaBin).args(List.of(
                            "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp-stdio")), "-jar", jar.toString(),
                            "-p", provider, "-s", "mcp", "-w", config.toString(), "--log-level", "warn")).build(),
                    new JacksonMcpJsonMapper(JSON))).requestTimeout(Duration.ofSeconds(60)).build();
            stdio.initialize();
            overHttp = McpClient.sync(HttpClientStreamableHttpTransport.builder(base.toString()).endpoint("/mcp")
                    .clientBuilder(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1))
                    .jsonMapper(new JacksonMcpJsonMapper(JSON)).build()).requestTimeout(Duration.ofSeconds(60)).build();
            overHttp.initialize();

            String stdioWs = workspace(stdio);
            String httpWs = workspace(overHttp);
            HttpRequest cmd = HttpRequest.newBuilder(base.resolve("/workspaces/" + httpWs + "/cmd_with_output"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"cmd\":\"true\"}")).timeout(Duration.ofSeconds(30)).build();
            McpSyncClient s = stdio;
            McpSyncClient h = overHttp;
            Runnable viaRest = () -> {
                try {
                    HttpResponse<String> r = client.send(cmd, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                    if (r.statusCode() != 200 || !r.body().contains("\"exit_code\":0")) {
                        throw new IllegalStateException("unexpected answer " + r.statusCode() + ": " + r.body());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            String session = rawSession(client, base);
            String callBody = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"exec\","
                    + "\"arguments\":{\"workspace_id\":\"" + httpWs + "\",\"command\":\"true\"}}}";
            HttpRequest rawCall = HttpRequest.newBuilder(base.resolve("/mcp")).header("Content-Type", "application/json")
                    .header("Accept", "application/json, text/event-stream").header("Mcp-Session-Id", session)
                    .POST(HttpRequest.BodyPublishers.ofString(callBody)).timeout(Duration.ofSeconds(30)).build();
            Runnable viaRawMcp = () -> {
                try {
                    HttpResponse<String> r = client.send(rawCall, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                    if (r.statusCode() != 200 || !r.body().contains("\"exit_code\":0")) {
                        throw new IllegalStateException("unexpected answer " + r.statusCode() + ": " + r.body());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            Runnable viaStdio = () -> execTrue(s, stdioWs);
            Runnable viaMcpHttp = () -> execTrue(h, httpWs);
            for (int i = 0; i < warmup; i++) {
                viaRest.run();
                viaStdio.run();
                viaMcpHttp.run();
                viaRawMcp.run();
            }
            Stats rest = new Stats("HTTP cmd_with_output `true` (" + provider + ")");
            Stats mcpStdio = new Stats("MCP exec `true` over stdio (" + provider + ")");
            Stats mcpHttp = new Stats("MCP exec `true` over HTTP /mcp (" + provider + ")");
            Stats rawMcp = new Stats("  same, raw JSON-RPC POST (java.net.http)");
            for (int done = 0; done < runs; done += block) {
                time(block, viaRest, rest);
                time(block, viaStdio, mcpStdio);
                time(block, viaMcpHttp, mcpHttp);
                time(block, viaRawMcp, rawMcp);
            }
            System.out.println("=== McpRoundTripBench: " + runs + " runs each, medians ===");
            System.out.println(rest.line());
            System.out.println(mcpStdio.line());
            System.out.println(mcpHttp.line());
            System.out.println(rawMcp.line());
            System.out.printf(Locale.ROOT, "MCP over stdio adds (median difference): %.3f ms%n",
                    mcpStdio.medianMillis() - rest.medianMillis());
            System.out.printf(Locale.ROOT, "MCP over HTTP adds (median difference):  %.3f ms%n",
                    mcpHttp.medianMillis() - rest.medianMillis());
        } finally {
            if (stdio != null) {
                stdio.closeGracefully();
            }
            if (overHttp != null) {
                overHttp.closeGracefully();
            }
            http.destroy();
            http.waitFor();
        }
    }

    /** An MCP session opened by hand: initialize, then the initialized notification. */
    private static String rawSession(HttpClient client, URI base) throws Exception {
        HttpResponse<String> init = client.send(HttpRequest.newBuilder(base.resolve("/mcp"))
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                        + "\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                        + "\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}")).build(),
                HttpResponse.BodyHandlers.ofString());
        String session = init.headers().firstValue("Mcp-Session-Id").orElseThrow(() ->
                new IllegalStateException("no session: " + init.statusCode() + " " + init.body()));
        client.send(HttpRequest.newBuilder(base.resolve("/mcp")).header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream").header("Mcp-Session-Id", session)
                .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"))
                .build(), HttpResponse.BodyHandlers.discarding());
        return session;
    }

    private static void time(int n, Runnable action, Stats into) {
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            action.run();
            into.add(System.nanoTime() - t);
        }
    }

    private static String workspace(McpSyncClient c) {
        McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("create_workspace", Map.of(), null));
        if (Boolean.TRUE.equals(r.isError())) {
            throw new IllegalStateException("create_workspace failed: " + r.content());
        }
        return String.valueOf(((Map<?, ?>) r.structuredContent()).get("workspace_id"));
    }

    private static void execTrue(McpSyncClient c, String ws) {
        McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("exec",
                Map.of("workspace_id", ws, "command", "true"), null));
        if (Boolean.TRUE.equals(r.isError()) || !String.valueOf(((Map<?, ?>) r.structuredContent()).get("exit_code")).equals("0")) {
            throw new IllegalStateException("exec failed: " + r.content());
        }
    }

    private static void awaitHealthy(HttpClient client, URI base, Process p, Path dir) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("derrick -s http exited: " + Files.readString(dir.resolve("http.log")));
            }
            try {
                if (client.send(HttpRequest.newBuilder(base.resolve("/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("derrick -s http not healthy: " + Files.readString(dir.resolve("http.log")));
    }
}
