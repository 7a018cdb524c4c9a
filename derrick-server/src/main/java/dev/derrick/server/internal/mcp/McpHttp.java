package dev.derrick.server.internal.mcp;

import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.ServerSettings;
import dev.derrick.server.internal.http.HttpApiServer;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.DefaultServerTransportSecurityValidator;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;

import java.util.List;

/**
 * MCP's streamable HTTP transport at {@value #PATH} on derrick's HTTP server, with the same tools as {@code -s mcp}
 * and behind the same bearer token and body limit as the rest of the API (the HTTP server's guard). Requests from a
 * browser page of another origin are refused (403): a web page must not drive a local derrick through DNS
 * rebinding or a cross-site POST; agents send no {@code Origin} header.
 */
public final class McpHttp implements AutoCloseable {
    /** Where the transport is mounted. */
    public static final String PATH = "/mcp";
    /** The methods the transport answers there. */
    public static final List<String> METHODS = List.of("GET", "POST", "DELETE");

    private final McpSyncServer server;

    private McpHttp(McpSyncServer server) {
        this.server = server;
    }

    /** Builds the MCP server and mounts its transport on {@code http}; close the result after the HTTP server. */
    public static McpHttp mount(HttpApiServer.Builder http, Operations operations, ServerSettings settings) {
        HttpServletStreamableServerTransportProvider transport = HttpServletStreamableServerTransportProvider.builder()
                .jsonMapper(new JacksonMcpJsonMapper(dev.derrick.core.json.Json.mapper()))
                .mcpEndpoint(PATH)
                .securityValidator(DefaultServerTransportSecurityValidator.builder()
                        .allowedOrigins(List.of("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"))
                        .build())
                .build();
        McpSyncServer server = McpStdioMode.configure(McpServer.sync(transport), operations, settings).build();
        http.mount(PATH, transport);
        return new McpHttp(server);
    }

    @Override
    public void close() {
        server.closeGracefully();
    }
}
