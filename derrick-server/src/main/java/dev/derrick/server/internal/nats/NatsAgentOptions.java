package dev.derrick.server.internal.nats;

import dev.derrick.core.protocol.NatsProtocol;
import picocli.CommandLine.Option;

import java.time.Duration;

/** Command-line options of {@code -s nats} (and the subject prefix of {@code -p remote_nats}); a picocli mixin. */
public final class NatsAgentOptions {
    @Option(names = "--nats-prefix", paramLabel = "<prefix>", defaultValue = NatsProtocol.DEFAULT_PREFIX,
            description = "NATS subject prefix agents and controllers share (default: ${DEFAULT-VALUE}).")
    String prefix = NatsProtocol.DEFAULT_PREFIX;

    @Option(names = "--agent-id", paramLabel = "<id>",
            description = "This agent's id with -s nats (letters, digits, '-', '_'; default: host name + random suffix).")
    String agentId;

    @Option(names = "--max-workspaces", paramLabel = "<n>", defaultValue = "16",
            description = "With -s nats: most workspaces this agent holds; a full agent takes no creates (default: ${DEFAULT-VALUE}).")
    int maxWorkspaces = 16;

    @Option(names = "--heartbeat-interval", paramLabel = "<seconds>", defaultValue = "2",
            description = "With -s nats: seconds between heartbeats; controllers call an agent gone after "
                    + NatsProtocol.MISSED_HEARTBEATS + " missed ones (default: ${DEFAULT-VALUE}).")
    double heartbeatSeconds = 2;

    public String prefix() {
        return prefix;
    }

    public String agentId() {
        return agentId;
    }

    public int maxWorkspaces() {
        return maxWorkspaces;
    }

    public Duration heartbeatInterval() {
        return Duration.ofMillis(Math.round(heartbeatSeconds * 1000));
    }
}
