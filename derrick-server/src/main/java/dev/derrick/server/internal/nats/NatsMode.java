package dev.derrick.server.internal.nats;

import dev.derrick.api.InvalidConfigException;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.ServerMode;
import dev.derrick.server.internal.ServerSettings;
import dev.derrick.server.internal.UsageException;

/** {@code -s nats}: a {@link NatsAgent} serving the operations on {@code --nats-url}. */
public final class NatsMode implements ServerMode {
    @Override
    public String name() {
        return "nats";
    }

    @Override
    public void validate(ServerSettings settings) {
        NatsAgentOptions o = options(settings);
        try {
            NatsProtocol.checkPrefix(o.prefix());
            if (o.agentId() != null) {
                NatsProtocol.checkAgentId(o.agentId());
            }
        } catch (InvalidConfigException e) {
            throw new UsageException(e.getMessage());
        }
        if (o.maxWorkspaces() < 1) {
            throw new UsageException("--max-workspaces must be at least 1, got " + o.maxWorkspaces());
        }
        if (o.heartbeatInterval().toMillis() < 50) {
            throw new UsageException("--heartbeat-interval must be at least 0.05 seconds");
        }
        if (settings.natsUrl() == null || !settings.natsUrl().matches("(?i)(nats|tls|ws|wss)://.+")) {
            throw new UsageException("--nats-url must look like nats://host:4222, got '" + settings.natsUrl() + "'");
        }
    }

    @Override
    public AutoCloseable start(ServerSettings settings, Operations operations) {
        NatsAgentOptions o = options(settings);
        return NatsAgent.builder(operations).url(settings.natsUrl()).prefix(o.prefix()).agentId(o.agentId())
                .maxWorkspaces(o.maxWorkspaces()).heartbeatInterval(o.heartbeatInterval()).start();
    }

    private static NatsAgentOptions options(ServerSettings settings) {
        return settings.nats() == null ? new NatsAgentOptions() : settings.nats();
    }
}
