package dev.derrick.server.internal.nats;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.core.Redactor;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.protocol.Operation;
import dev.derrick.core.wire.WireError;
import dev.derrick.remote.nats.NatsConnections;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.Reply;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.service.Endpoint;
import io.nats.service.Service;
import io.nats.service.ServiceEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
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
 * (queue group: one agent answers) and the agent that answers reserves a slot for it ({@link AgentSlots}); the create
 * itself then goes to that agent's own subject. Every other operation goes to {@code <prefix>.agent.<id>.<op>} with
 * the workspace id in a header. That subject is the endpoint of an {@code io.nats.service} {@link Service} named
 * {@value NatsProtocol#SERVICE_NAME}, so {@code nats micro ls/info/stats} see every agent; the claim subscription,
 * streamed output ({@link OutputPublisher}) and heartbeats ({@link AgentHeartbeats}) are plain NATS (see those
 * classes for why). Large bodies travel in parts ({@link PartAssembly}, {@link AgentResponder}).
 */
public final class NatsAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NatsAgent.class);

    private final Operations operations;
    private final String url;
    private final String prefix;
    private final String agentId;
    private final Duration heartbeatInterval;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AgentSlots slots;
    private final PartAssembly parts = new PartAssembly();
    private final AgentResponder responder;
    private final AgentHeartbeats heartbeats;

    private volatile Connection conn;
    private Dispatcher dispatcher;
    private Service service;
    private ExecutorService workers;
    private ScheduledExecutorService ticker;
    private volatile ConnectionListener.Events lastEvent;

    private NatsAgent(Builder b) {
        this.operations = Objects.requireNonNull(b.operations, "operations");
        this.url = b.url;
        this.prefix = NatsProtocol.checkPrefix(b.prefix);
        this.agentId = NatsProtocol.checkAgentId(b.agentId == null ? defaultAgentId() : b.agentId);
        if (b.maxWorkspaces < 1) {
            throw new IllegalArgumentException("--max-workspaces must be at least 1, got " + b.maxWorkspaces);
        }
        if (b.heartbeatInterval.toMillis() < 50) {
            throw new IllegalArgumentException("--heartbeat-interval must be at least 50 ms, got " + b.heartbeatInterval);
        }
        this.heartbeatInterval = b.heartbeatInterval;
        this.slots = new AgentSlots(operations.provider(), b.maxWorkspaces, prefix, closed);
        this.responder = new AgentResponder(() -> conn, agentId);
        this.heartbeats = new AgentHeartbeats(() -> conn, prefix, agentId, operations.provider(), b.maxWorkspaces,
                heartbeatInterval, closed);
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
                        LOG.info("NATS {}: {}", Redactor.redactUrls(url), event);
                    }
                    lastEvent = event;
                    if (event == ConnectionListener.Events.RECONNECTED || event == ConnectionListener.Events.CONNECTED) {
                        heartbeats.echoed();
                    }
                    if (event == ConnectionListener.Events.RECONNECTED && ticker != null) {
                        ticker.execute(heartbeats::publish);
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
        heartbeats.openBucket();
        dispatcher = conn.createDispatcher();
        startService();
        dispatcher.subscribe(heartbeats.subject(), m -> heartbeats.echoed());
        slots.attach(dispatcher, this::claim);
        heartbeats.publish();
        ticker.scheduleAtFixedRate(this::tick, heartbeatInterval.toMillis(), heartbeatInterval.toMillis(),
                TimeUnit.MILLISECONDS);
        LOG.info("derrick NATS agent {} serving {} on {} (provider {}, at most {} workspaces)", agentId,
                prefix, Redactor.redactUrls(url), operations.provider().name(), slots.max());
    }

    /**
     * The agent's operations as one {@code io.nats.service} endpoint on {@code <prefix>.agent.<id>.*}, without a queue
     * group (the subject is this agent's alone, exactly as a plain subscription was). Requests are handed to the
     * worker pool at once: a command may run for minutes, and the dispatcher must keep delivering meanwhile.
     */
    private void startService() {
        ServiceEndpoint endpoint = ServiceEndpoint.builder()
                .endpoint(Endpoint.builder().name("operations")
                        .subject(NatsProtocol.agentSubject(prefix, agentId, "*")).noQueueGroup().build())
                .dispatcher(dispatcher)
                .handler(m -> {
                    AgentRequest req = AgentRequest.of(m);
                    workers.execute(() -> serve(req));
                })
                .build();
        service = Service.builder().connection(conn).name(NatsProtocol.SERVICE_NAME)
                .version(NatsProtocol.SERVICE_VERSION)
                .description("derrick agent " + agentId + " (" + operations.provider().name() + ")")
                .metadata(Map.of("agent", agentId, "prefix", prefix, "provider", operations.provider().name(),
                        "max_workspaces", String.valueOf(slots.max())))
                .addServiceEndpoint(endpoint)
                .build();
        service.startService();
    }

    // ------------------------------------------------------------------------------------------------ claims

    private void claim(Message msg) {
        String reservation = slots.reserve();
        slots.update();
        AgentRequest req = AgentRequest.of(msg);
        if (reservation == null) {
            responder.respond(req, noCapacity(), null);
        } else {
            responder.respond(req, Reply.json(Map.of("agent", agentId, "reservation", reservation)), null);
        }
    }

    private Reply noCapacity() {
        return Reply.error(WireError.of(503, WireError.PROVIDER_UNAVAILABLE,
                "no capacity: agent " + agentId + " is full (" + slots.max() + " workspaces)"));
    }

    // ------------------------------------------------------------------------------------------------- serving

    private void serve(AgentRequest req) {
        try {
            String token = req.operationToken();
            if (NatsProtocol.CHUNK_OP.equals(token)) {
                responder.sendChunk(req);
                return;
            }
            byte[] body = req.data();
            String transfer = req.header(NatsProtocol.TRANSFER);
            if (transfer != null) {
                PartAssembly.Step step = parts.receive(transfer, req.header(NatsProtocol.PART), body);
                if (step.answer() != null) {
                    responder.respond(req, step.answer(), null);
                    return;
                }
                body = step.body();
            }
            Operation op = Operation.byWireName(token).orElse(null);
            if (op == null) {
                responder.respond(req, Reply.error(WireError.of(404, WireError.NOT_FOUND, "agent " + agentId
                        + " has no operation '" + token + "'")), null);
                return;
            }
            if (op == Operation.CREATE) {
                responder.respond(req, create(req, body), agentId);
                return;
            }
            String streamTo = req.header(NatsProtocol.STREAM);
            OutputPublisher output = streamTo != null && (op == Operation.CMD || op == Operation.CMD_WITH_OUTPUT)
                    ? new OutputPublisher(conn, streamTo) : null;
            Reply reply = operations.handle(op, req.header(NatsProtocol.WORKSPACE), req.header(NatsProtocol.PROCESS),
                    new ByteArrayInputStream(body), output);
            if (op == Operation.DELETE) {
                slots.update();
                heartbeats.publish(); // before the reply: a controller that sees the reply also has the new count
            }
            responder.respond(req, reply, null, output == null ? -1 : output.count());
        } catch (RuntimeException | Error e) {
            LOG.error("NATS request on {} failed: {}", req.subject(), e.toString(), e);
            responder.respond(req, Reply.error(WireError.from(e, null)), null);
        }
    }

    private Reply create(AgentRequest req, byte[] body) {
        if (!slots.beginCreate(req.header(NatsProtocol.RESERVATION))) {
            return noCapacity();
        }
        try {
            return operations.handle(Operation.CREATE, null, new ByteArrayInputStream(body));
        } finally {
            slots.endCreate();
            slots.update();
            // Published before the reply (publish() only publishes; the KV write is off-thread), so a controller
            // that has the reply also has the agent's new count, e.g. for a "no capacity" message naming it.
            heartbeats.publish();
        }
    }

    // ---------------------------------------------------------------------------------------------- heartbeats

    private void tick() {
        try {
            long now = System.nanoTime();
            parts.expire(now);
            responder.expire(now);
            slots.update();
            heartbeats.publish();
            heartbeats.checkEcho(now, workers);
        } catch (RuntimeException e) {
            LOG.warn("heartbeat failed: {}", e.toString());
        }
    }

    private static String defaultAgentId() {
        String host = AgentHeartbeats.hostName().replaceAll("[^A-Za-z0-9_-]", "-");
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
            if (service != null) {
                service.stop(false);
            }
            if (dispatcher != null) {
                conn.closeDispatcher(dispatcher);
            }
            if (conn.getStatus() == Connection.Status.CONNECTED) {
                heartbeats.publishLast();
            }
            conn.flush(Duration.ofSeconds(2));
        } catch (Exception e) {
            LOG.debug("while stopping: {}", e.toString());
        } finally {
            if (workers != null) {
                workers.shutdownNow();
            }
            heartbeats.close();
            try {
                conn.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            LOG.info("derrick NATS agent {} stopped", agentId);
        }
    }
}
