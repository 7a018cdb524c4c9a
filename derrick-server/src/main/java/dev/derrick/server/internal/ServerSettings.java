package dev.derrick.server.internal;

import dev.derrick.core.Redactor;
import dev.derrick.server.internal.nats.NatsAgentOptions;

import java.net.InetAddress;

/**
 * What a {@link ServerMode} needs from the command line.
 *
 * @param bind         HTTP address
 * @param port         HTTP port (0: any free one)
 * @param natsUrl      NATS server URL
 * @param apiToken     bearer token demanded by the HTTP API, or {@code null}
 * @param maxBodyBytes request body limit
 * @param threads      request threads
 * @param redactor     scrubs secrets from logs and errors
 * @param nats         options of {@code -s nats} (prefix, agent id, capacity, heartbeat), or {@code null} for defaults
 * @param http         the HTTP server's connection limits, or {@code null} for defaults
 */
public record ServerSettings(InetAddress bind, int port, String natsUrl, String apiToken, long maxBodyBytes,
                             int threads, Redactor redactor, NatsAgentOptions nats, HttpLimits http) {
    /** Settings with the NATS agent's and the HTTP server's defaults. */
    public ServerSettings(InetAddress bind, int port, String natsUrl, String apiToken, long maxBodyBytes, int threads,
                          Redactor redactor) {
        this(bind, port, natsUrl, apiToken, maxBodyBytes, threads, redactor, null, null);
    }

    /**
     * Limits of the HTTP server against slow and many clients.
     *
     * @param maxRequestsPerClient operations of one remote address running at once
     * @param maxConnections       open connections
     * @param idleTimeout          a connection with no traffic for this long is closed
     */
    public record HttpLimits(int maxRequestsPerClient, int maxConnections, java.time.Duration idleTimeout) {
    }
}
