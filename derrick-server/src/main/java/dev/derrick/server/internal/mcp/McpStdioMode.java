package dev.derrick.server.internal.mcp;

import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.ServerMode;
import dev.derrick.server.internal.ServerSettings;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import org.slf4j.LoggerFactory;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code -s mcp}: the Model Context Protocol over stdio, for an agent that launches derrick as a tool
 * ({@code java -jar derrick.jar -p docker -s mcp -w workspace.json}). stdout carries only protocol messages: logs
 * go to stderr, and {@code System.out} is pointed at stderr too so that nothing else can write there. When the
 * client closes stdin, the server stops, which removes every workspace it made.
 */
public final class McpStdioMode implements ServerMode {
    @Override
    public String name() {
        return "mcp";
    }

    @Override
    public AutoCloseable start(ServerSettings settings, Operations operations) throws Exception {
        return start(settings, operations, () -> { });
    }

    @Override
    public AutoCloseable start(ServerSettings settings, Operations operations, Runnable stop) throws Exception {
        OutputStream protocolOut = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true));
        AtomicBoolean ended = new AtomicBoolean();
        InputStream in = new FilterInputStream(new FileInputStream(FileDescriptor.in)) {
            @Override
            public int read() throws IOException {
                int b = super.read();
                if (b < 0) {
                    end();
                }
                return b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                if (n < 0) {
                    end();
                }
                return n;
            }

            private void end() {
                if (ended.compareAndSet(false, true)) {
                    LoggerFactory.getLogger("dev.derrick.server").info("MCP client closed stdin; stopping");
                    stop.run();
                }
            }
        };
        McpSyncServer server = server(new StdioServerTransportProvider(new JacksonMcpJsonMapper(
                dev.derrick.core.json.Json.mapper()), in, protocolOut), operations, settings);
        LoggerFactory.getLogger("dev.derrick.server").info("derrick MCP server on stdio (provider {})",
                operations.provider().name());
        return server::closeGracefully;
    }

    /** The MCP server with derrick's tools on a transport. */
    static McpSyncServer server(io.modelcontextprotocol.spec.McpServerTransportProvider transport,
                                Operations operations, ServerSettings settings) {
        return configure(McpServer.sync(transport), operations, settings).build();
    }

    /** derrick's server info, instructions and tools on an MCP server spec (stdio or streamable HTTP). */
    static <S extends McpServer.SyncSpecification<S>> McpServer.SyncSpecification<S> configure(
            McpServer.SyncSpecification<S> spec, Operations operations, ServerSettings settings) {
        return spec
                .serverInfo("derrick", McpServers.version())
                .instructions(McpServers.INSTRUCTIONS)
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .jsonMapper(new JacksonMcpJsonMapper(dev.derrick.core.json.Json.mapper()))
                .validateToolInputs(false)
                .requestTimeout(java.time.Duration.ofHours(2))
                .tools(new McpTools(operations, settings.redactor()).specifications());
    }
}
