package dev.derrick.server.mcp;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent loop over stdio: the SDK's {@link StdioClientTransport} launches {@code java -jar derrick.jar -p <provider>
 * -s mcp -w workspace.json} as a child process, the way an agent runs a configured MCP server.
 */
abstract class McpStdioContract extends McpAgentLoopContract {
    static final Path JAR = Path.of("target", "derrick.jar").toAbsolutePath();
    final List<String> stderr = new CopyOnWriteArrayList<>();

    /** Extra CLI arguments. */
    protected List<String> extraArgs() {
        return List.of();
    }

    @Override
    protected McpSyncClient connect(Path workspaceConfig, Map<String, String> env) throws Exception {
        assertThat(JAR).as("run the package phase first").isRegularFile();
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        List<String> args = new ArrayList<>(List.of("-Djava.io.tmpdir=" + tmp, "-jar", JAR.toString(),
                "-p", provider(), "-s", "mcp", "-w", workspaceConfig.toString(),
                "--cache-dir", dir.resolve("cache").toString()));
        args.addAll(extraArgs());
        ServerParameters params = ServerParameters.builder(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()).args(args).env(env).build();
        StdioClientTransport transport = new StdioClientTransport(params, new JacksonMcpJsonMapper(JSON));
        transport.setStdErrorHandler(stderr::add);
        McpSyncClient c = McpClient.sync(transport).requestTimeout(Duration.ofMinutes(3))
                .initializationTimeout(Duration.ofMinutes(1))
                .progressConsumer(progress::add).build();
        c.initialize();
        return c;
    }

    @Override
    protected void disconnect() {
        if (client != null) {
            client.closeGracefully();
        }
    }

    @Test
    void logsGoToStderrAndStdoutCarriesOnlyProtocol() {
        // the client parsed every stdout line as JSON-RPC (or initialize would have failed); the logs are on stderr
        assertThat(String.join("\n", stderr)).contains("derrick MCP server on stdio (provider " + provider() + ")");
        assertThat(client.getServerInfo().name()).isEqualTo("derrick");
        assertThat(client.getServerInstructions()).contains("create_workspace");
    }
}
