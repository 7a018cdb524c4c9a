package dev.derrick.remote.nats;

import dev.derrick.remote.AgentGoneException;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.api.spi.WorkspaceProviderFactory;
import dev.derrick.remote.internal.NatsTransport;
import dev.derrick.remote.internal.RemoteProvider;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * {@code remote_nats}: workspaces on a fleet of derrick agents ({@code derrick -s nats}) reached through a NATS
 * server. Options:
 * <ul>
 *   <li>{@code nats_url} — default {@code $NATS_URL} or {@code nats://127.0.0.1:4222}</li>
 *   <li>{@code prefix} — subject prefix the agents serve, default {@code derrick}</li>
 *   <li>{@code request_timeout} — wait for an ordinary reply (default 30 s); a command waits its own timeout
 *       (or {@code exec_timeout}, default 10 min) plus this</li>
 *   <li>{@code create_timeout} — wait for a create, fetch or reset (default 15 min)</li>
 *   <li>{@code connect_timeout} — first connection (default 5 s)</li>
 * </ul>
 * A workspace whose agent stopped heartbeating fails fast with {@code AgentGoneException} (a
 * {@link dev.derrick.api.WorkspaceNotFoundException}); a NATS server restart is ridden out by reconnecting.
 */
public final class RemoteNatsProviderFactory implements WorkspaceProviderFactory {
    public static final String NAME = "remote_nats";
    private static final Set<String> OPTIONS = Set.of("nats_url", "prefix", "request_timeout", "create_timeout",
            "exec_timeout", "connect_timeout", "claim_timeout");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "workspaces on derrick agents reached through NATS";
    }

    @Override
    public Set<String> supportedOptions() {
        return OPTIONS;
    }

    @Override
    public Availability probe(Map<String, ?> options) {
        ProviderOptions o = ProviderOptions.of(NAME, options, OPTIONS);
        String url = url(o);
        try {
            URI uri = URI.create(url);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(uri.getHost(), uri.getPort() < 0 ? 4222 : uri.getPort()), 2000);
            }
            return Availability.yes("NATS server at " + url);
        } catch (Exception e) {
            return Availability.no("no NATS server at " + url + ": " + e.getMessage());
        }
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        ProviderOptions o = ProviderOptions.of(NAME, options, OPTIONS);
        String url = url(o);
        String prefix = NatsProtocol.checkPrefix(o.string("prefix", NatsProtocol.DEFAULT_PREFIX));
        Duration request = positive(o, "request_timeout", Duration.ofSeconds(30));
        Duration create = positive(o, "create_timeout", Duration.ofMinutes(15));
        Duration exec = positive(o, "exec_timeout", Duration.ofMinutes(10));
        Duration connect = positive(o, "connect_timeout", Duration.ofSeconds(5));
        Duration claim = positive(o, "claim_timeout", Duration.ofSeconds(5));
        NatsTransport transport = NatsTransport.connect(url, prefix, connect, claim);
        return new RemoteProvider(NAME, transport, request, create, exec, true, id -> transport.locate(id, request));
    }

    static String url(ProviderOptions o) {
        String env = System.getenv("NATS_URL");
        return o.string("nats_url", env == null || env.isBlank() ? "nats://127.0.0.1:4222" : env);
    }

    private static Duration positive(ProviderOptions o, String key, Duration fallback) {
        Duration d = o.duration(key, fallback);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("option '" + key + "' of provider '" + NAME + "' must be positive, got " + d);
        }
        return d;
    }
}
