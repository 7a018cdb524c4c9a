package dev.derrick.server.internal;

import dev.derrick.server.internal.http.HttpApiServer;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The server modes this build knows, by name. */
public final class ServerModes {
    private static final Map<String, ServerMode> MODES = new TreeMap<>();

    static {
        register(new HttpMode());
        register(new dev.derrick.server.internal.nats.NatsMode());
        register(new dev.derrick.server.internal.mcp.McpStdioMode());
    }

    private ServerModes() {
    }

    private static void register(ServerMode mode) {
        MODES.put(mode.name(), mode);
    }

    /** Every mode's name, sorted. */
    public static List<String> names() {
        return List.copyOf(MODES.keySet());
    }

    /** The mode of that name. */
    public static Optional<ServerMode> find(String name) {
        return Optional.ofNullable(name == null ? null : MODES.get(name.toLowerCase(java.util.Locale.ROOT)));
    }

    /** {@code -s http}: the HTTP API. */
    static final class HttpMode implements ServerMode {
        @Override
        public String name() {
            return "http";
        }

        /** Fails early, before the provider is opened, when the port is taken. */
        @Override
        public void validate(ServerSettings s) throws Exception {
            if (s.port() == 0) {
                return;
            }
            try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
                probe.setReuseAddress(true);
                probe.bind(new java.net.InetSocketAddress(s.bind(), s.port()));
            } catch (java.net.BindException e) {
                throw inUse(s, e);
            }
        }

        private static java.net.BindException inUse(ServerSettings s, java.net.BindException e) {
            return new java.net.BindException("cannot listen on " + s.bind().getHostAddress() + ":" + s.port()
                    + ": " + (e.getMessage() == null ? "address in use" : e.getMessage().toLowerCase(java.util.Locale.ROOT))
                    + " (is another derrick running? choose another --port)");
        }

        @Override
        public AutoCloseable start(ServerSettings s, Operations operations) throws Exception {
            HttpApiServer server;
            dev.derrick.server.internal.mcp.McpHttp mcp = null;
            try {
                HttpApiServer.Builder b = HttpApiServer.builder(operations).bind(s.bind()).port(s.port())
                        .apiToken(s.apiToken()).maxBodyBytes(s.maxBodyBytes()).threads(s.threads())
                        .redactor(s.redactor());
                if (s.http() != null) {
                    b.maxRequestsPerClient(s.http().maxRequestsPerClient()).maxConnections(s.http().maxConnections())
                            .idleTimeout(s.http().idleTimeout());
                }
                mcp = dev.derrick.server.internal.mcp.McpHttp.mount(b, operations, s);
                server = b.start();
            } catch (java.net.BindException e) {
                closeQuietly(mcp);
                throw inUse(s, e);
            } catch (IllegalArgumentException e) {
                closeQuietly(mcp);
                throw new UsageException(e.getMessage());
            }
            LoggerFactory.getLogger("dev.derrick.server").info("derrick HTTP API listening on {} (MCP at {}{}; provider {}{})",
                    server.uri(), server.uri(), dev.derrick.server.internal.mcp.McpHttp.PATH, operations.provider().name(),
                    s.apiToken() == null ? "" : ", bearer token required");
            HttpApiServer started = server;
            dev.derrick.server.internal.mcp.McpHttp mounted = mcp;
            return () -> {
                try {
                    started.close();
                } finally {
                    mounted.close();
                }
            };
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // failing start: the original error matters
            }
        }
    }

    /** A mode whose implementation is not in this build yet. */
    static final class NotYetAvailable implements ServerMode {
        private final String name;
        private final String message;

        NotYetAvailable(String name, String message) {
            this.name = name;
            this.message = message;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void validate(ServerSettings settings) {
            throw new UsageException(message);
        }

        @Override
        public AutoCloseable start(ServerSettings settings, Operations operations) {
            throw new UsageException(message);
        }
    }
}
