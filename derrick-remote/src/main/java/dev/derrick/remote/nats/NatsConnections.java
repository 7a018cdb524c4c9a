package dev.derrick.remote.nats;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.core.Redactor;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.ErrorListener;
import io.nats.client.Nats;
import io.nats.client.Options;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;

/**
 * NATS connections as derrick makes them, for both sides of the protocol: the {@code remote_nats} provider
 * (controller) and the agent ({@code derrick -s nats}). Subjects, headers and payloads are in
 * {@link dev.derrick.core.protocol.NatsProtocol}.
 */
public final class NatsConnections {
    private NatsConnections() {
    }

    /**
     * Options both agents and controllers use: reconnect forever with a buffer, report "no responders"; {@code url}
     * may list several servers, comma-separated.
     */
    public static Options options(String url, String name, Duration connectTimeout, ConnectionListener listener) {
        // A comma-separated list names several servers of a cluster; the servers a cluster member advertises are
        // learned as well, so a client moves on when its server dies.
        return new Options.Builder()
                .servers(Arrays.stream(url.split(",")).map(String::trim).filter(u -> !u.isEmpty())
                        .toArray(String[]::new))
                .connectionName(name)
                .connectionTimeout(connectTimeout)
                .maxReconnects(-1)
                .reconnectWait(Duration.ofMillis(250))
                .reconnectBufferSize(64L * 1024 * 1024)
                .pingInterval(Duration.ofSeconds(5))
                .reportNoResponders()
                .connectionListener(listener)
                .errorListener(new ErrorListener() {
                })
                .build();
    }

    /** Connects, turning failure into a clear {@link ProviderUnavailableException}. */
    public static Connection open(String url, Options options) {
        try {
            return Nats.connect(options);
        } catch (IOException e) {
            throw new ProviderUnavailableException("no NATS server at " + Redactor.redactUrls(url) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProviderUnavailableException("interrupted while connecting to NATS at " + Redactor.redactUrls(url), e);
        } catch (RuntimeException e) {
            throw new ProviderUnavailableException("cannot connect to NATS at " + Redactor.redactUrls(url) + ": " + e.getMessage(), e);
        }
    }
}
