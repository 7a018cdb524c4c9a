package dev.derrick.server.remote;

import dev.derrick.server.internal.http.HttpApiServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.util.Map;
import java.util.UUID;

/**
 * The TCK against {@code remote_http}: a real derrick HTTP server in this JVM on 127.0.0.1 (port 0, bearer token)
 * in front of the {@code local} backend.
 */
class RemoteHttpProviderIT extends RemoteProviderContract {
    private final String apiToken = "tck-api-" + UUID.randomUUID();
    private HttpApiServer server;

    @Override
    protected String providerName() {
        return "remote_http";
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment) {
        return Map.of("url", server(environment).uri().toString(), "token", apiToken);
    }

    private synchronized HttpApiServer server(Map<String, String> environment) {
        if (server == null) {
            try {
                server = HttpApiServer.builder(agentOperations(environment)).bind(InetAddress.getLoopbackAddress())
                        .port(0).apiToken(apiToken).threads(16).start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return server;
    }

    @Override
    protected synchronized void stopAgent() {
        if (server != null) {
            server.close();
        }
    }
}
