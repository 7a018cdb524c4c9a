package dev.derrick.server.remote;

import dev.derrick.server.internal.nats.NatsAgent;
import dev.derrick.tck.NatsTestServer;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/**
 * The TCK against {@code remote_nats}: a real {@code nats-server} on 127.0.0.1 ({@link NatsTestServer}; skipped
 * without one unless {@code DERRICK_REQUIRE_NATS=true}) and a {@link NatsAgent} in this JVM serving the {@code local}
 * backend on a subject prefix of its own.
 */
class RemoteNatsProviderIT extends RemoteProviderContract {
    private final String prefix = "tck" + UUID.randomUUID().toString().substring(0, 8);
    private NatsTestServer nats;
    private NatsAgent agent;

    @Override
    protected String providerName() {
        return "remote_nats";
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment) {
        return Map.of("nats_url", start(environment).url(), "prefix", prefix);
    }

    private synchronized NatsTestServer start(Map<String, String> environment) {
        if (nats == null) {
            nats = NatsTestServer.start();
            agent = NatsAgent.builder(agentOperations(environment)).url(nats.url()).prefix(prefix)
                    .agentId("tck-agent").maxWorkspaces(32).heartbeatInterval(Duration.ofMillis(500)).start();
        }
        return nats;
    }

    @Override
    protected synchronized void stopAgent() {
        try {
            if (agent != null) {
                agent.close();
            }
        } finally {
            if (nats != null) {
                nats.close();
            }
        }
    }
}
