package dev.derrick.server.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * derrick's MCP server driven by another language's SDK: the official TypeScript SDK
 * ({@code @modelcontextprotocol/sdk}, installed by npm into {@code target/node} for this test only) runs
 * {@code src/test/node/agent-loop.mjs} over stdio (launching {@code derrick.jar -s mcp}) and over streamable HTTP
 * (against {@code derrick.jar -s http} with a token). Needs node and npm, and the npm registry for the install.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(600)
class McpNodeClientIT {
    static final Path JAR = Path.of("target", "derrick.jar").toAbsolutePath();
    static final Path NODE_DIR = Path.of("target", "node").toAbsolutePath();
    final String token = "node-token-" + UUID.randomUUID();
    GitTestServer git;
    Path dir;
    Path config;

    @BeforeAll
    void install() throws Exception {
        Files.createDirectories(NODE_DIR);
        for (String f : List.of("package.json", "agent-loop.mjs")) {
            Files.copy(Path.of("src", "test", "node", f), NODE_DIR.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(NODE_DIR.resolve("node_modules/@modelcontextprotocol/sdk"))) {
            Result npm = run(NODE_DIR, Map.of(), 300, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error");
            assertThat(npm.code).as("npm install of @modelcontextprotocol/sdk: %s", npm.output).isZero();
        }
        git = GitTestServer.start(token);
        git.createRepository("app", Map.of("README.md", "hello node\n"));
        dir = Files.createTempDirectory("derrick-mcp-node-");
        config = dir.resolve("workspace.json");
        new ObjectMapper().writeValue(config.toFile(), Map.of("name", "node-it", "repositories",
                List.of(Map.of("url", git.url("app"), "path", "code/app", "auth", Map.of("token_env", "NODE_IT_TOKEN")))));
    }

    @AfterAll
    void stop() {
        if (git != null) {
            git.close();
        }
    }

    @Test
    void theTypeScriptSdkDrivesTheAgentLoopOverStdio() throws Exception {
        Result r = run(NODE_DIR, Map.of("NODE_IT_TOKEN", token), 300, "node", "agent-loop.mjs", "stdio",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), JAR.toString(), config.toString(),
                Files.createDirectories(dir.resolve("tmp-stdio")).toString());
        assertThat(r.output).contains("AGENT LOOP OK");
        assertThat(r.code).as(r.output).isZero();
    }

    @Test
    void theTypeScriptSdkDrivesTheAgentLoopOverStreamableHttp() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String apiToken = "api-" + UUID.randomUUID();
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp-http")), "-jar", JAR.toString(), "-p",
                "local", "-s", "http", "--port", String.valueOf(port), "-w", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("http.log").toFile());
        pb.environment().put("NODE_IT_TOKEN", token);
        pb.environment().put("DERRICK_API_TOKEN", apiToken);
        Process server = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(dir.resolve("http.log")).contains("listening on")) {
                assertThat(server.isAlive()).as(Files.readString(dir.resolve("http.log"))).isTrue();
                assertThat(System.nanoTime()).isLessThan(deadline);
                Thread.sleep(100);
            }
            Result r = run(NODE_DIR, Map.of(), 300, "node", "agent-loop.mjs", "http",
                    "http://127.0.0.1:" + port + "/mcp", apiToken);
            assertThat(r.output).contains("AGENT LOOP OK");
            assertThat(r.code).as(r.output).isZero();
        } finally {
            server.destroy();
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }

    record Result(int code, String output) {
    }

    static Result run(Path cwd, Map<String, String> env, int seconds, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("derrick-node-", ".log");
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(cwd.toFile())
                .redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                return new Result(-1, "timed out: " + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
