package dev.derrick.server.internal.nats;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.core.json.Json;
import dev.derrick.core.wire.Wire;
import dev.derrick.core.wire.WireError;
import dev.derrick.core.protocol.AgentHeartbeat;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.protocol.Operation;
import dev.derrick.server.internal.Operations;
import dev.derrick.remote.nats.NatsConnections;
import dev.derrick.server.internal.Reply;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.KeyValueManagement;
import io.nats.client.Message;
import io.nats.client.Subscription;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.StorageType;
import io.nats.client.impl.Headers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code derrick -s nats}: serves {@link Operations} over NATS request-reply (see {@link NatsProtocol}).
 *
 * <p>Creation is two-step so that a full agent never swallows a request: a controller asks {@code <prefix>.claim}
 * (queue group: one agent answers) and the agent that answers reserves a slot for it; the create itself then goes
 * to that agent's own subject. While all its slots are used or reserved, an agent is not subscribed to the claim
 * subject at all, so claims go to agents with room, and with every agent full the controller gets NATS's "no
 * responders" at once and reports "no capacity". Every other operation goes to {@code <prefix>.agent.<id>.<op>}
 * with the workspace id in a header.
 */
public final class NatsAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NatsAgent.class);
    private static final Duration RESERVATION_TTL = Duration.ofSeconds(30);
    private static final Duration TRANSFER_TTL = Duration.ofMinutes(2);

    private final Operations operations;
    private final String url;
    private final String prefix;
    private final String agentId;
    private final int maxWorkspaces;
    private final Duration heartbeatInterval;
    private final Instant started = Instant.now();
    private final AtomicBoolean closed = new AtomicBoolean();

    private final Map<String, Long> reservations = new ConcurrentHashMap<>();
    private final AtomicInteger creating = new AtomicInteger();
    private final Map<String, Transfer> incoming = new ConcurrentHashMap<>();
    private final Map<String, Transfer> outgoing = new ConcurrentHashMap<>();

    private volatile Connection conn;
    private Dispatcher dispatcher;
    private Subscription claimSubscription;
    private ExecutorService workers;
    private ScheduledExecutorService ticker;
    private volatile KeyValue kv;
    private volatile boolean kvWarned;
    private volatile ConnectionListener.Events lastEvent;
    private volatile long lastEchoNanos = System.nanoTime();
    private final AtomicBoolean kvWriting = new AtomicBoolean();
    private final ExecutorService kvWriter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "derrick-nats-kv");
        t.setDaemon(true);
        return t;
    });

    private static final class Transfer {
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        final long createdNanos = System.nanoTime();
        byte[][] parts;
        int next;
    }

    private NatsAgent(Builder b) {
        this.operations = Objects.requireNonNull(b.operations, "operations");
        this.url = b.url;
        this.prefix = NatsProtocol.checkPrefix(b.prefix);
        this.agentId = NatsProtocol.checkAgentId(b.agentId == null ? defaultAgentId() : b.agentId);
        if (b.maxWorkspaces < 1) {
            throw new IllegalArgumentException("--max-workspaces must be at least 1, got " + b.maxWorkspaces);
        }
        this.maxWorkspaces = b.maxWorkspaces;
        if (b.heartbeatInterval.toMillis() < 50) {
            throw new IllegalArgumentException("--heartbeat-interval must be at least 50 ms, got " + b.heartbeatInterval);
        }
        this.heartbeatInterval = b.heartbeatInterval;
    }

    /** A builder serving {@code operations}. */
    public static Builder builder(Operations operations) {
        return new Builder(operations);
    }

    /** Settings of an agent; {@link #start()} connects and serves. */
    public static final class Builder {
        private final Operations operations;
        private String url = "nats://127.0.0.1:4222";
        private String prefix = NatsProtocol.DEFAULT_PREFIX;
        private String agentId;
        private int maxWorkspaces = 16;
        private Duration heartbeatInterval = Duration.ofSeconds(2);

        private Builder(Operations operations) {
            this.operations = operations;
        }

        public Builder url(String natsUrl) {
            this.url = natsUrl;
            return this;
        }

        public Builder prefix(String subjectPrefix) {
            this.prefix = subjectPrefix;
            return this;
        }

        /** A subject token; {@code null} means host name plus a random suffix. */
        public Builder agentId(String id) {
            this.agentId = id;
            return this;
        }

        public Builder maxWorkspaces(int max) {
            this.maxWorkspaces = max;
            return this;
        }

        public Builder heartbeatInterval(Duration interval) {
            this.heartbeatInterval = Objects.requireNonNull(interval, "interval");
            return this;
        }

        /**
         * Connects and starts serving.
         *
         * @throws ProviderUnavailableException when no NATS server answers
         */
        public NatsAgent start() {
            NatsAgent agent = new NatsAgent(this);
            agent.begin();
            return agent;
        }
    }

    /** This agent's id. */
    public String agentId() {
        return agentId;
    }

    private void begin() {
        conn = NatsConnections.open(url, NatsConnections.options(url, "derrick-agent-" + agentId,
                Duration.ofSeconds(5), (c, event) -> {
                    if (conn != null && event != ConnectionListener.Events.CONNECTED && event != lastEvent) {
                        LOG.info("NATS {}: {}", dev.derrick.core.Redactor.redactUrls(url), event);
                    }
                    lastEvent = event;
                    if (event == ConnectionListener.Events.RECONNECTED || event == ConnectionListener.Events.CONNECTED) {
                        lastEchoNanos = System.nanoTime();
                    }
                    if (event == ConnectionListener.Events.RECONNECTED && ticker != null) {
                        ticker.execute(this::heartbeat);
                    }
                }));
        AtomicInteger n = new AtomicInteger();
        workers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "derrick-nats-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "derrick-nats-heartbeat");
            t.setDaemon(true);
            return t;
        });
        openBucket();
        dispatcher = conn.createDispatcher();
        dispatcher.subscribe(NatsProtocol.agentSubject(prefix, agentId, "*"),
                msg -> workers.execute(() -> serve(msg)));
        // the agent hears its own heartbeats: if they stop coming back while the connection claims to be up, the
        // connection is wedged (seen after NATS restarts under heavy load) and is replaced
        dispatcher.subscribe(NatsProtocol.heartbeatSubject(prefix, agentId), m -> lastEchoNanos = System.nanoTime());
        updateClaimSubscription();
        heartbeat();
        ticker.scheduleAtFixedRate(this::tick, heartbeatInterval.toMillis(), heartbeatInterval.toMillis(),
                TimeUnit.MILLISECONDS);
        LOG.info("derrick NATS agent {} serving {} on {} (provider {}, at most {} workspaces)", agentId,
                prefix, dev.derrick.core.Redactor.redactUrls(url), operations.provider().name(), maxWorkspaces);
    }

    private void openBucket() {
        String bucket = NatsProtocol.bucket(prefix);
        try {
            KeyValueManagement kvm = conn.keyValueManagement();
            try {
                kvm.getStatus(bucket);
            } catch (JetStreamApiException notThere) {
                Duration ttl = heartbeatInterval.multipliedBy(10).compareTo(Duration.ofSeconds(30)) > 0
                        ? heartbeatInterval.multipliedBy(10) : Duration.ofSeconds(30);
                try {
                    kvm.create(KeyValueConfiguration.builder().name(bucket).ttl(ttl).storageType(StorageType.File)
                            .maxHistoryPerKey(1).build());
                } catch (JetStreamApiException raced) {
                    LOG.debug("bucket {} created by another agent meanwhile: {}", bucket, raced.getMessage());
                }
            }
            kv = conn.keyValue(bucket);
        } catch (IOException | RuntimeException e) {
            LOG.warn("no JetStream key-value bucket {} ({}); heartbeats go out as plain messages only, so a "
                    + "controller started later learns of this agent within one interval", bucket, e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------------ claims

    private synchronized int usedSlots() {
        long now = System.nanoTime();
        reservations.values().removeIf(expiry -> expiry - now < 0);
        return operations.provider().list().size() + reservations.size() + creating.get();
    }

    private synchronized void updateClaimSubscription() {
        if (closed.get() || dispatcher == null) {
            return;
        }
        boolean room = usedSlots() < maxWorkspaces;
        if (room && claimSubscription == null) {
            claimSubscription = dispatcher.subscribe(NatsProtocol.claimSubject(prefix), NatsProtocol.AGENT_QUEUE,
                    this::claim);
        } else if (!room && claimSubscription != null) {
            dispatcher.unsubscribe(claimSubscription);
            claimSubscription = null;
        }
    }

    private void claim(Message msg) {
        String reservation = null;
        synchronized (this) {
            if (usedSlots() < maxWorkspaces) {
                reservation = UUID.randomUUID().toString();
                reservations.put(reservation, System.nanoTime() + RESERVATION_TTL.toNanos());
            }
        }
        updateClaimSubscription();
        if (reservation == null) {
            respond(msg, Reply.error(WireError.of(503, WireError.PROVIDER_UNAVAILABLE,
                    "no capacity: agent " + agentId + " is full (" + maxWorkspaces + " workspaces)")), null);
        } else {
            respond(msg, Reply.json(Map.of("agent", agentId, "reservation", reservation)), null);
        }
    }

    // ------------------------------------------------------------------------------------------------- serving

    private void serve(Message msg) {
        try {
            String subject = msg.getSubject();
            String token = subject.substring(subject.lastIndexOf('.') + 1);
            if (NatsProtocol.CHUNK_OP.equals(token)) {
                sendChunk(msg);
                return;
            }
            byte[] body = msg.getData();
            String transfer = header(msg, NatsProtocol.TRANSFER);
            if (transfer != null) {
                body = receivePart(msg, transfer);
                if (body == null) {
                    return;
                }
            }
            Operation op = Operation.byWireName(token).orElse(null);
            if (op == null) {
                respond(msg, Reply.error(WireError.of(404, WireError.NOT_FOUND, "agent " + agentId
                        + " has no operation '" + token + "'")), null);
                return;
            }
            String workspace = header(msg, NatsProtocol.WORKSPACE);
            if (op == Operation.CREATE) {
                respond(msg, create(msg, body), agentId);
                return;
            }
            String streamTo = header(msg, NatsProtocol.STREAM);
            OutputPublisher output = streamTo != null && (op == Operation.CMD || op == Operation.CMD_WITH_OUTPUT)
                    ? new OutputPublisher(streamTo) : null;
            Reply reply = operations.handle(op, workspace, header(msg, NatsProtocol.PROCESS),
                    new ByteArrayInputStream(body), output);
            if (op == Operation.DELETE) {
                updateClaimSubscription();
                heartbeat(); // before the reply: a controller that sees the reply also has the new count
            }
            respond(msg, reply, null, output == null ? -1 : output.count());
        } catch (RuntimeException | Error e) {
            LOG.error("NATS request on {} failed: {}", msg.getSubject(), e.toString(), e);
            respond(msg, Reply.error(WireError.from(e, null)), null);
        }
    }

    private Reply create(Message msg, byte[] body) {
        String reservation = header(msg, NatsProtocol.RESERVATION);
        synchronized (this) {
            boolean held = reservation != null && reservations.remove(reservation) != null;
            if (!held && usedSlots() >= maxWorkspaces) {
                return Reply.error(WireError.of(503, WireError.PROVIDER_UNAVAILABLE,
                        "no capacity: agent " + agentId + " is full (" + maxWorkspaces + " workspaces)"));
            }
            creating.incrementAndGet();
        }
        try {
            return operations.handle(Operation.CREATE, null, new ByteArrayInputStream(body));
        } finally {
            creating.decrementAndGet();
            updateClaimSubscription();
            // Published before the reply (heartbeat() only publishes; the KV write is off-thread), so a controller
            // that has the reply also has the agent's new count, e.g. for a "no capacity" message naming it.
            heartbeat();
        }
    }

    private byte[] receivePart(Message msg, String transfer) {
        String part = header(msg, NatsProtocol.PART);
        int slash = part == null ? -1 : part.indexOf('/');
        if (slash < 0) {
            respond(msg, Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "header " + NatsProtocol.PART
                    + " must be 'index/count'")), null);
            return null;
        }
        int index = Integer.parseInt(part.substring(0, slash));
        int count = Integer.parseInt(part.substring(slash + 1));
        Transfer t = incoming.computeIfAbsent(transfer, k -> new Transfer());
        synchronized (t) {
            if (index != t.next) {
                incoming.remove(transfer);
                respond(msg, Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "part " + index + " of transfer "
                        + transfer + " arrived out of order (expected " + t.next + ")")), null);
                return null;
            }
            if (t.data.size() + (long) msg.getData().length > NatsProtocol.MAX_TRANSFER_BYTES) {
                incoming.remove(transfer);
                respond(msg, Reply.error(WireError.of(413, WireError.PAYLOAD_TOO_LARGE, "request is larger than "
                        + NatsProtocol.MAX_TRANSFER_BYTES + " bytes")), null);
                return null;
            }
            t.data.writeBytes(msg.getData());
            t.next++;
            if (index < count - 1) {
                respond(msg, new Reply(202, Reply.JSON, Wire.write(Map.of("received", index)), null), null);
                return null;
            }
            incoming.remove(transfer);
            return t.data.toByteArray();
        }
    }

    private void sendChunk(Message msg) {
        String transfer = header(msg, NatsProtocol.TRANSFER);
        Transfer t = transfer == null ? null : outgoing.get(transfer);
        String part = header(msg, NatsProtocol.PART);
        if (t == null || part == null) {
            respond(msg, Reply.error(WireError.of(404, WireError.NOT_FOUND, "agent " + agentId
                    + " has no reply transfer '" + transfer + "' (expired after " + TRANSFER_TTL.toSeconds() + " s?)")), null);
            return;
        }
        int index = Integer.parseInt(part.substring(0, part.indexOf('/')));
        if (index < 1 || index >= t.parts.length) {
            respond(msg, Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "no part " + index)), null);
            return;
        }
        if (index == t.parts.length - 1) {
            outgoing.remove(transfer);
        }
        Headers h = new Headers();
        h.put(NatsProtocol.STATUS, "200");
        conn.publish(msg.getReplyTo(), h, t.parts[index]);
    }

    private void respond(Message msg, Reply reply, String agent) {
        respond(msg, reply, agent, -1);
    }

    /** Answers a request; {@code streamed} ≥ 0 is how many output messages went to its stream subject before. */
    private void respond(Message msg, Reply reply, String agent, int streamed) {
        if (msg.getReplyTo() == null) {
            return;
        }
        Headers h = new Headers();
        h.put(NatsProtocol.STATUS, String.valueOf(reply.status()));
        h.put("Content-Type", reply.contentType());
        if (agent != null) {
            h.put(NatsProtocol.AGENT, agent);
        }
        if (streamed >= 0) {
            h.put(NatsProtocol.STREAMED, String.valueOf(streamed));
        }
        byte[] body = reply.body();
        int chunk = NatsProtocol.chunkSize(conn.getServerInfo().getMaxPayload());
        if (body.length > chunk) {
            int n = (body.length + chunk - 1) / chunk;
            Transfer t = new Transfer();
            t.parts = new byte[n][];
            for (int i = 0; i < n; i++) {
                t.parts[i] = Arrays.copyOfRange(body, i * chunk, Math.min(body.length, (i + 1) * chunk));
            }
            String id = UUID.randomUUID().toString();
            outgoing.put(id, t);
            h.put(NatsProtocol.TRANSFER, id);
            h.put(NatsProtocol.CHUNKS, String.valueOf(n));
            body = t.parts[0];
        }
        try {
            conn.publish(msg.getReplyTo(), h, body);
        } catch (RuntimeException e) {
            LOG.warn("could not answer {} on {}: {}", msg.getSubject(), msg.getReplyTo(), e.toString());
        }
    }

    /**
     * Publishes a command's output while it runs to the subject a controller named in {@value NatsProtocol#STREAM}:
     * {@code {"stream": "stdout"|"stderr", "chunk": text}} per message, in the order the provider reports it. A chunk
     * larger than fits in one message goes as several. The count goes into the reply's {@value NatsProtocol#STREAMED}
     * header, so the controller knows when it has them all.
     */
    private final class OutputPublisher implements dev.derrick.api.OutputListener {
        private final String subject;
        private final AtomicInteger published = new AtomicInteger();

        OutputPublisher(String subject) {
            this.subject = subject;
        }

        @Override
        public void onOutput(dev.derrick.api.StreamKind stream, String chunk) {
            String name = stream == dev.derrick.api.StreamKind.STDERR ? "stderr" : "stdout";
            // escaped JSON needs at most 6 bytes per char: stay well inside the server's max payload
            int max = Math.max(1024, NatsProtocol.chunkSize(conn.getServerInfo().getMaxPayload()) / 8);
            for (int from = 0; from < chunk.length(); ) {
                int to = Math.min(chunk.length(), from + max);
                if (to < chunk.length() && Character.isHighSurrogate(chunk.charAt(to - 1))) {
                    to--;
                }
                publish(name, chunk.substring(from, to));
                from = to;
            }
        }

        private synchronized void publish(String stream, String part) {
            try {
                conn.publish(subject, Wire.write(Map.of("stream", stream, "chunk", part)));
                published.incrementAndGet();
            } catch (RuntimeException e) {
                LOG.debug("could not stream output to {}: {}", subject, e.toString());
            }
        }

        synchronized int count() {
            return published.get();
        }
    }

    private static String header(Message m, String name) {
        return m.hasHeaders() ? m.getHeaders().getFirst(name) : null;
    }

    // ---------------------------------------------------------------------------------------------- heartbeats

    private void tick() {
        try {
            long now = System.nanoTime();
            for (Iterator<Transfer> it = incoming.values().iterator(); it.hasNext(); ) {
                if (now - it.next().createdNanos > TRANSFER_TTL.toNanos()) {
                    it.remove();
                }
            }
            outgoing.values().removeIf(t -> now - t.createdNanos > TRANSFER_TTL.toNanos());
            updateClaimSubscription();
            heartbeat();
            checkEcho(now);
        } catch (RuntimeException e) {
            LOG.warn("heartbeat failed: {}", e.toString());
        }
    }

    private void checkEcho(long now) {
        long silence = now - lastEchoNanos;
        if (conn.getStatus() == Connection.Status.CONNECTED
                && silence > heartbeatInterval.multipliedBy(NatsProtocol.MISSED_HEARTBEATS + 1).toNanos()) {
            LOG.warn("own heartbeats have not come back for {} ms although connected: reconnecting", silence / 1_000_000);
            lastEchoNanos = now;
            workers.execute(() -> {
                try {
                    conn.forceReconnect();
                } catch (IOException | RuntimeException e) {
                    LOG.warn("forced reconnect failed: {}", e.toString());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    private AgentHeartbeat snapshot(boolean stopping) {
        List<String> ids = stopping ? List.of() : operations.provider().list().stream().map(Workspace::id).toList();
        return new AgentHeartbeat(agentId, operations.provider().name(), hostName(), maxWorkspaces, ids,
                heartbeatInterval.toMillis(), started, Instant.now(), stopping);
    }

    private void heartbeat() {
        if (conn == null || conn.getStatus() != Connection.Status.CONNECTED) {
            LOG.debug("no heartbeat while {}", conn == null ? "starting" : conn.getStatus());
            return;
        }
        AgentHeartbeat hb = snapshot(closed.get());
        byte[] data = Wire.write(hb);
        conn.publish(NatsProtocol.heartbeatSubject(prefix, agentId), data);
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

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String defaultAgentId() {
        String host = hostName().replaceAll("[^A-Za-z0-9_-]", "-");
        return host + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * Stops serving: unsubscribes, announces that this agent is stopping, closes the connection. The operations
     * (and their workspaces) are closed by whoever owns them.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            if (ticker != null) {
                ticker.shutdownNow();
            }
            if (dispatcher != null) {
                conn.closeDispatcher(dispatcher);
            }
            if (conn.getStatus() == Connection.Status.CONNECTED) {
                AgentHeartbeat last = snapshot(true);
                byte[] data = Wire.write(last);
                conn.publish(NatsProtocol.heartbeatSubject(prefix, agentId), data);
                store(last, data);
            }
            conn.flush(Duration.ofSeconds(2));
        } catch (Exception e) {
            LOG.debug("while stopping: {}", e.toString());
        } finally {
            if (workers != null) {
                workers.shutdownNow();
            }
            kvWriter.shutdownNow();
            try {
                conn.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            LOG.info("derrick NATS agent {} stopped", agentId);
        }
    }
}
