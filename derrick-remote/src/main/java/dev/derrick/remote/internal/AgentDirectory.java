package dev.derrick.remote.internal;

import dev.derrick.core.protocol.AgentHeartbeat;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.json.Json;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A controller's view of the agents on one prefix: fed by heartbeat messages, seeded from the key-value bucket.
 * Liveness is judged by the time a heartbeat <em>arrived here</em>, so clocks of agents and controller need not
 * agree, and never counts time this connection was down (a NATS restart does not make agents look gone).
 */
public final class AgentDirectory implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AgentDirectory.class);

    private record Seen(AgentHeartbeat heartbeat, long arrivedNanos, Instant arrivedAt) {
    }

    private final String prefix;
    private final Map<String, Seen> agents = new ConcurrentHashMap<>();
    private volatile long connectedSinceNanos = System.nanoTime();
    private volatile boolean disconnected;
    private Dispatcher dispatcher;
    private Connection connection;

    public AgentDirectory(String prefix) {
        this.prefix = prefix;
    }

    /** Subscribes to heartbeats and reads the bucket. */
    public void start(Connection conn) {
        this.connection = conn;
        dispatcher = conn.createDispatcher();
        dispatcher.subscribe(prefix + ".heartbeat.*", msg -> {
            try {
                record(Json.mapper().readValue(msg.getData(), AgentHeartbeat.class), System.nanoTime(), Instant.now());
            } catch (Exception e) {
                LOG.debug("ignoring a malformed heartbeat on {}: {}", msg.getSubject(), e.toString());
            }
        });
        try {
            KeyValue kv = conn.keyValue(NatsProtocol.bucket(prefix));
            for (String key : kv.keys()) {
                KeyValueEntry entry = kv.get(key);
                if (entry == null || entry.getValue() == null) {
                    continue;
                }
                AgentHeartbeat hb = Json.mapper().readValue(entry.getValue(), AgentHeartbeat.class);
                Instant at = entry.getCreated() == null ? Instant.now() : entry.getCreated().toInstant();
                Instant now = Instant.now();
                if (at.isAfter(now)) {
                    at = now;
                }
                long age = Duration.between(at, now).toNanos();
                record(hb, System.nanoTime() - age, at);
            }
        } catch (Exception e) {
            LOG.debug("no agent bucket {} to read (JetStream off or no agent yet): {}", NatsProtocol.bucket(prefix),
                    e.toString());
        }
    }

    private void record(AgentHeartbeat hb, long arrivedNanos, Instant at) {
        LOG.trace("heartbeat of {} ({} workspaces)", hb.agentId(), hb.workspaces().size());
        agents.merge(hb.agentId(), new Seen(hb, arrivedNanos, at),
                (old, neu) -> neu.arrivedNanos() - old.arrivedNanos() >= 0 || neu.heartbeat().stopping() ? neu : old);
    }

    /** Call when the connection (re)connects: time spent disconnected does not count against agents. */
    public void connected() {
        LOG.debug("connected: agents are judged from now on");
        connectedSinceNanos = System.nanoTime();
        disconnected = false;
    }

    /** Call when the connection drops: no agent is judged while this controller cannot hear heartbeats. */
    public void disconnected() {
        LOG.debug("disconnected: no agent is judged until reconnected");
        disconnected = true;
    }

    /** Why the agent is gone, or empty when it is alive or unknown (unknown agents get the benefit of the doubt). */
    public Optional<String> goneReason(String agentId) {
        Seen seen = agents.get(agentId);
        if (seen == null) {
            return Optional.empty();
        }
        if (seen.heartbeat().stopping()) {
            return Optional.of("agent " + agentId + " is gone: it shut down at " + seen.arrivedAt());
        }
        if (disconnected) {
            return Optional.empty();
        }
        long threshold = Duration.ofMillis(seen.heartbeat().intervalMs()).toNanos() * NatsProtocol.MISSED_HEARTBEATS;
        long now = System.nanoTime();
        long since = Math.max(seen.arrivedNanos(), connectedSinceNanos);
        if (now - since > threshold) {
            return Optional.of(String.format("agent %s is gone: last heartbeat %.1f s ago (at %s), expected every %d ms",
                    agentId, (now - seen.arrivedNanos()) / 1e9, seen.arrivedAt(), seen.heartbeat().intervalMs()));
        }
        return Optional.empty();
    }

    /** The agent answered a direct request just now: it is alive, whatever its heartbeats say. */
    public void touch(String agentId) {
        agents.computeIfPresent(agentId, (id, seen) -> seen.heartbeat().stopping() ? seen
                : new Seen(seen.heartbeat(), System.nanoTime(), Instant.now()));
    }

    /** How long until an agent that stops now would be judged gone. */
    public Duration goneAfter(String agentId) {
        Seen seen = agents.get(agentId);
        long interval = seen == null ? 2000 : seen.heartbeat().intervalMs();
        return Duration.ofMillis(interval * NatsProtocol.MISSED_HEARTBEATS);
    }

    /** The agent holding a workspace id, from the last heartbeats (a gone agent's workspaces included). */
    public Optional<String> agentOf(String workspaceId) {
        return agents.values().stream()
                .filter(s -> s.heartbeat().workspaces().contains(workspaceId))
                .max(Comparator.comparingLong(Seen::arrivedNanos))
                .map(s -> s.heartbeat().agentId());
    }

    /** Heartbeats of the agents alive now. */
    public List<AgentHeartbeat> live() {
        List<AgentHeartbeat> out = new ArrayList<>();
        for (Seen s : agents.values()) {
            if (goneReason(s.heartbeat().agentId()).isEmpty()) {
                out.add(s.heartbeat());
            }
        }
        out.sort(Comparator.comparing(AgentHeartbeat::agentId));
        return out;
    }

    @Override
    public void close() {
        if (dispatcher != null && connection != null) {
            try {
                connection.closeDispatcher(dispatcher);
            } catch (RuntimeException e) {
                LOG.debug("closing heartbeat dispatcher: {}", e.toString());
            }
        }
    }
}
