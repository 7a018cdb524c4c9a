package dev.derrick.server.internal.nats;

import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.core.protocol.AgentHeartbeat;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.wire.Wire;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.KeyValueManagement;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.StorageType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * An agent's {@link AgentHeartbeat}s: published to {@code <prefix>.heartbeat.<agentId>} every interval (plain
 * messages, which controllers judge liveness by) and stored in the JetStream key-value bucket so a controller that
 * starts later sees every agent. The agent hears its own heartbeats; when they stop coming back on a connection that
 * claims to be up, the connection is replaced. Heartbeats are announcements, not requests: nothing here fits
 * {@code io.nats.service}, whose discovery ({@code $SRV.PING}) answers who asks but does not push.
 */
final class AgentHeartbeats {
    private static final Logger LOG = LoggerFactory.getLogger(AgentHeartbeats.class);

    private final Supplier<Connection> conn;
    private final String prefix;
    private final String agentId;
    private final WorkspaceProvider provider;
    private final int capacity;
    private final Duration interval;
    private final AtomicBoolean closed;
    private final Instant started = Instant.now();
    private final String host = hostName();

    private volatile KeyValue kv;
    private volatile boolean kvWarned;
    private volatile long lastEchoNanos = System.nanoTime();
    private final AtomicBoolean kvWriting = new AtomicBoolean();
    private final ExecutorService kvWriter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "derrick-nats-kv");
        t.setDaemon(true);
        return t;
    });

    AgentHeartbeats(Supplier<Connection> conn, String prefix, String agentId, WorkspaceProvider provider, int capacity,
                    Duration interval, AtomicBoolean closed) {
        this.conn = conn;
        this.prefix = prefix;
        this.agentId = agentId;
        this.provider = provider;
        this.capacity = capacity;
        this.interval = interval;
        this.closed = closed;
    }

    String subject() {
        return NatsProtocol.heartbeatSubject(prefix, agentId);
    }

    /** Opens (creating if need be) the key-value bucket; without JetStream, heartbeats are plain messages only. */
    void openBucket() {
        String bucket = NatsProtocol.bucket(prefix);
        try {
            KeyValueManagement kvm = conn.get().keyValueManagement();
            try {
                kvm.getStatus(bucket);
            } catch (JetStreamApiException notThere) {
                Duration ttl = interval.multipliedBy(10).compareTo(Duration.ofSeconds(30)) > 0
                        ? interval.multipliedBy(10) : Duration.ofSeconds(30);
                try {
                    kvm.create(KeyValueConfiguration.builder().name(bucket).ttl(ttl).storageType(StorageType.File)
                            .maxHistoryPerKey(1).build());
                } catch (JetStreamApiException raced) {
                    LOG.debug("bucket {} created by another agent meanwhile: {}", bucket, raced.getMessage());
                }
            }
            kv = conn.get().keyValue(bucket);
        } catch (IOException | RuntimeException e) {
            LOG.warn("no JetStream key-value bucket {} ({}); heartbeats go out as plain messages only, so a "
                    + "controller started later learns of this agent within one interval", bucket, e.getMessage());
        }
    }

    /** One of the agent's own heartbeats came back, or the connection was (re)established. */
    void echoed() {
        lastEchoNanos = System.nanoTime();
    }

    private AgentHeartbeat snapshot(boolean stopping) {
        List<String> ids = stopping ? List.of() : provider.list().stream().map(Workspace::id).toList();
        return new AgentHeartbeat(agentId, provider.name(), host, capacity, ids, interval.toMillis(), started,
                Instant.now(), stopping);
    }

    /** Publishes a heartbeat now (connected only); the bucket is written off this thread. */
    void publish() {
        Connection c = conn.get();
        if (c == null || c.getStatus() != Connection.Status.CONNECTED) {
            LOG.debug("no heartbeat while {}", c == null ? "starting" : c.getStatus());
            return;
        }
        AgentHeartbeat hb = snapshot(closed.get());
        byte[] data = Wire.write(hb);
        c.publish(subject(), data);
        LOG.debug("heartbeat: {} workspaces", hb.workspaces().size());
        // the bucket is written off the heartbeat thread: a JetStream that is still recovering after a NATS restart
        // must not delay the plain heartbeats controllers judge liveness by
        if (kv != null && kvWriting.compareAndSet(false, true)) {
            try {
                kvWriter.execute(() -> {
                    try {
                        store(hb, data);
                    } finally {
                        kvWriting.set(false);
                    }
                });
            } catch (RuntimeException rejected) {
                kvWriting.set(false);
            }
        }
    }

    /** The last heartbeat, {@code stopping}: published and its key deleted from the bucket, on this thread. */
    void publishLast() {
        AgentHeartbeat last = snapshot(true);
        byte[] data = Wire.write(last);
        conn.get().publish(subject(), data);
        store(last, data);
    }

    private void store(AgentHeartbeat hb, byte[] data) {
        KeyValue store = kv;
        if (store == null) {
            return;
        }
        try {
            if (hb.stopping()) {
                store.delete(agentId);
            } else {
                store.put(agentId, data);
            }
            kvWarned = false;
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            if (!kvWarned) {
                LOG.warn("could not update key-value bucket {}: {}", NatsProtocol.bucket(prefix), e.toString());
                kvWarned = true;
            }
        }
    }

    /** Replaces a connection that is up but has not echoed the agent's heartbeats for a while (on {@code executor}). */
    void checkEcho(long nowNanos, Executor executor) {
        Connection c = conn.get();
        long silence = nowNanos - lastEchoNanos;
        if (c.getStatus() == Connection.Status.CONNECTED
                && silence > interval.multipliedBy(NatsProtocol.MISSED_HEARTBEATS + 1).toNanos()) {
            LOG.warn("own heartbeats have not come back for {} ms although connected: reconnecting", silence / 1_000_000);
            lastEchoNanos = nowNanos;
            executor.execute(() -> {
                try {
                    c.forceReconnect();
                } catch (IOException | RuntimeException e) {
                    LOG.warn("forced reconnect failed: {}", e.toString());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    void close() {
        kvWriter.shutdownNow();
    }

    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
