package dev.derrick.server;

import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.core.Redactor;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;

/**
 * The HTTP API ({@code derrick -s http}) served in-process for a provider, e.g. for benchmarks and tests that want
 * the real server without the command line. Closing it stops the server; the provider stays the caller's.
 */
public final class EmbeddedHttpServer implements AutoCloseable {
    private final Operations operations;
    private final HttpApiServer server;

    private EmbeddedHttpServer(Operations operations, HttpApiServer server) {
        this.operations = operations;
        this.server = server;
    }

    /**
     * Serves {@code provider} on {@code bind}:{@code port} ({@code 0}: any free port) without an API token.
     *
     * @param defaultConfig the configuration of a create request without one, or {@code null}
     */
    public static EmbeddedHttpServer start(WorkspaceProvider provider, WorkspaceConfig defaultConfig, InetAddress bind,
                                           int port) throws IOException {
        Operations operations = new Operations(provider, defaultConfig, new Redactor());
        try {
            return new EmbeddedHttpServer(operations, HttpApiServer.builder(operations).bind(bind).port(port).start());
        } catch (IOException | RuntimeException e) {
            operations.close();
            throw e;
        }
    }

    /** Serves {@code provider} on a free port of 127.0.0.1. */
    public static EmbeddedHttpServer start(WorkspaceProvider provider) throws IOException {
        return start(provider, null, InetAddress.getLoopbackAddress(), 0);
    }

    /** The server's base URI, e.g. {@code http://127.0.0.1:41234}. */
    public URI uri() {
        return server.uri();
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            operations.close();
        }
    }
}
