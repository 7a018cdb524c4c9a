package dev.derrick.remote.internal;

import dev.derrick.remote.AgentGoneException;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.protocol.Operation;
import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.DerrickException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.StreamKind;
import dev.derrick.core.json.Json;
import dev.derrick.remote.nats.NatsConnections;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.JetStreamStatusException;
import io.nats.client.Message;
import io.nats.client.Options;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/** The {@code remote_nats} transport: request-reply to agents, creation through the claim queue group. */
public final class NatsTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(NatsTransport.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final int CLAIM_ATTEMPTS = 12;

    private final String url;
    private final String prefix;
    private final Duration claimTimeout;
    private final Connection conn;
    private final AgentDirectory directory;

    private NatsTransport(String url, String prefix, Duration claimTimeout, Connection conn, AgentDirectory directory) {
        this.url = url;
        this.prefix = prefix;
        this.claimTimeout = claimTimeout;
        this.conn = conn;
        this.directory = directory;
    }

    /**
     * Connects to the NATS server; reconnects forever afterwards, buffering requests meanwhile.
     *
     * @throws ProviderUnavailableException when no NATS server answers at {@code url}
     */
    public static NatsTransport connect(String url, String prefix, Duration connectTimeout, Duration claimTimeout) {
        AgentDirectory directory = new AgentDirectory(prefix);
        ConnectionListener.Events[] last = new ConnectionListener.Events[1];
        boolean[] up = new boolean[1];
        Options options = NatsConnections.options(url, "derrick-controller", connectTimeout, (c, event) -> {
            if (event == ConnectionListener.Events.RECONNECTED || event == ConnectionListener.Events.CONNECTED) {
                directory.connected();
            } else if (event == ConnectionListener.Events.DISCONNECTED) {
                directory.disconnected();
            }
            up[0] |= event == ConnectionListener.Events.CONNECTED;
            if (up[0] && event != ConnectionListener.Events.CONNECTED && event != last[0]) {
                LOG.info("NATS {}: {}", dev.derrick.core.Redactor.redactUrls(url), event);
            }
            last[0] = event;
        });
        Connection conn = NatsConnections.open(url, options);
        directory.start(conn);
        NatsTransport transport = new NatsTransport(url, prefix, claimTimeout, conn, directory);
        transport.startWatchdog();
        return transport;
    }

    private final java.util.concurrent.ScheduledExecutorService watchdog =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "derrick-nats-watchdog");
                t.setDaemon(true);
                return t;
            });
    private int failedPings;

    /**
     * Every second, a PING/PONG round trip: a connection that claims to be up but gets no answer twice in a row
     * (seen after NATS restarts on a loaded machine) is replaced.
     */
    private void startWatchdog() {
        watchdog.scheduleWithFixedDelay(() -> {
            if (conn.getStatus() != Connection.Status.CONNECTED) {
                failedPings = 0;
                return;
            }
            try {
                conn.flush(Duration.ofSeconds(2));
                failedPings = 0;
            } catch (TimeoutException e) {
                if (++failedPings >= 2) {
                    failedPings = 0;
                    LOG.warn("NATS {} does not answer pings although connected: reconnecting", dev.derrick.core.Redactor.redactUrls(url));
                    try {
                        conn.forceReconnect();
                    } catch (IOException | RuntimeException ex) {
                        LOG.warn("forced reconnect failed: {}", ex.toString());
                    } catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                LOG.debug("watchdog: {}", e.toString());
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    public AgentDirectory directory() {
        return directory;
    }

    /**
     * Locates a workspace some controller created: the agents' heartbeats say which agent holds it, and that agent
     * confirms it (a heartbeat may still list a workspace deleted a moment ago). An agent that cannot be asked keeps
     * the workspace: using it then reports why it is unreachable.
     */
    public Optional<RemoteRef> locate(String workspaceId, Duration timeout) {
        Optional<RemoteRef> ref = directory.agentOf(workspaceId).map(agent -> new RemoteRef(workspaceId, agent));
        if (ref.isEmpty()) {
            return ref;
        }
        try {
            RemoteReply info = call(Operation.INFO, ref.get(), RemoteWire.EMPTY, timeout, null);
            return info.status() == 404 ? Optional.empty() : ref;
        } catch (DerrickException unreachable) {
            LOG.debug("cannot confirm workspace {} on agent {}: {}", workspaceId, ref.get().agent(),
                    unreachable.getMessage());
            return ref;
        }
    }

    @Override
    public RemoteReply call(Operation op, RemoteRef ref, byte[] body, Duration timeout, OutputListener listener) {
        return call(op, ref, null, body, timeout, listener);
    }

    @Override
    public RemoteReply call(Operation op, RemoteRef ref, String processId, byte[] body, Duration timeout) {
        return call(op, ref, processId, body, timeout, null);
    }

    private RemoteReply call(Operation op, RemoteRef ref, String processId, byte[] body, Duration timeout, OutputListener listener) {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (op == Operation.CREATE) {
            return create(body, deadline);
        }
        if (ref == null || ref.agent() == null) {
            throw new IllegalArgumentException(op + " needs a workspace on a known agent");
        }
        goneReason(ref.agent()).ifPresent(reason -> {
            throw gone(ref.id(), ref.agent(), reason);
        });
        return exchange(NatsProtocol.agentSubject(prefix, ref.agent(), op.wireName()), ref.agent(), ref.id(), op.wireName(),
                body, deadline, listener, null, processId);
    }

    private RemoteReply create(byte[] body, long deadline) {
        for (int attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
            Message claim;
            try {
                claim = conn.requestWithTimeout(NatsProtocol.claimSubject(prefix), null, RemoteWire.EMPTY, claimTimeout)
                        .get(claimTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DerrickException("interrupted while creating a workspace over NATS", e);
            } catch (ExecutionException | CancellationException | TimeoutException e) {
                if (noResponders(e)) {
                    throw noCapacity();
                }
                LOG.debug("claim attempt {} got no answer: {}", attempt, e.toString());
                checkDeadline(deadline, "claim", null, null);
                continue;
            }
            RemoteReply reply = reply(claim);
            if (reply.status() == 503) {
                sleep(20L * attempt);
                checkDeadline(deadline, "claim", null, null);
                continue;
            }
            RemoteWire.check(reply, Operation.CREATE, null);
            JsonNode n = tree(reply);
            String agent = n.path("agent").asText();
            String reservation = n.path("reservation").asText();
            RemoteReply created = exchange(NatsProtocol.agentSubject(prefix, agent, Operation.CREATE.wireName()), agent, null,
                    Operation.CREATE.wireName(), body, deadline, null, reservation, null);
            return new RemoteReply(created.status(), created.body(), agent);
        }
        throw noCapacity();
    }

    private DerrickException noCapacity() {
        var live = directory.live();
        if (live.isEmpty()) {
            return new ProviderUnavailableException("no derrick agent is serving prefix '" + prefix + "' at " + dev.derrick.core.Redactor.redactUrls(url)
                    + " (nobody answered on " + NatsProtocol.claimSubject(prefix) + ")");
        }
        return new ProviderUnavailableException("no capacity: every derrick agent on '" + prefix + "' is full ("
                + live.stream().map(h -> h.agentId() + " " + h.workspaces().size() + "/" + h.capacity())
                .collect(Collectors.joining(", ")) + ")");
    }

    private RemoteReply exchange(String subject, String agent, String workspaceId, String op, byte[] body, long deadline,
                           OutputListener listener, String reservation, String processId) {
        int chunk = NatsProtocol.chunkSize(maxPayload());
        Headers headers = new Headers();
        if (workspaceId != null) {
            headers.put(NatsProtocol.WORKSPACE, workspaceId);
        }
        if (processId != null) {
            headers.put(NatsProtocol.PROCESS, processId);
        }
        if (reservation != null) {
            headers.put(NatsProtocol.RESERVATION, reservation);
        }
        Dispatcher streamDispatcher = null;
        AtomicInteger streamed = new AtomicInteger();
        try {
            if (listener != null && listener != OutputListener.NONE) {
                String inbox = conn.createInbox();
                streamDispatcher = conn.createDispatcher(m -> {
                    try {
                        JsonNode n = Json.mapper().readTree(m.getData());
                        StreamKind kind = "stderr".equals(n.path("stream").asText()) ? StreamKind.STDERR : StreamKind.STDOUT;
                        listener.onOutput(kind, n.path("chunk").asText());
                    } catch (Exception e) {
                        LOG.debug("dropping a malformed output chunk: {}", e.toString());
                    } finally {
                        synchronized (streamed) {
                            streamed.incrementAndGet();
                            streamed.notifyAll();
                        }
                    }
                });
                streamDispatcher.subscribe(inbox);
                headers.put(NatsProtocol.STREAM, inbox);
            }
            RemoteReply reply;
            if (body.length <= chunk) {
                reply = await(NatsMessage.builder().subject(subject).headers(headers).data(body).build(), agent,
                        workspaceId, op, deadline);
            } else {
                reply = upload(subject, agent, workspaceId, op, headers, body, chunk, deadline);
            }
            if (streamDispatcher != null && reply.ok()) {
                waitForStream(reply, streamed);
            }
            return reply;
        } finally {
            if (streamDispatcher != null) {
                conn.closeDispatcher(streamDispatcher);
            }
        }
    }

    private RemoteReply upload(String subject, String agent, String workspaceId, String op, Headers base, byte[] body,
                         int chunk, long deadline) {
        if (body.length > NatsProtocol.MAX_TRANSFER_BYTES) {
            throw new InvalidConfigException(op + " request of " + body.length + " bytes is larger than derrick "
                    + "moves over NATS (" + NatsProtocol.MAX_TRANSFER_BYTES + " bytes)");
        }
        String transfer = UUID.randomUUID().toString();
        int parts = (body.length + chunk - 1) / chunk;
        RemoteReply last = null;
        for (int i = 0; i < parts; i++) {
            Headers h = new Headers(base);
            h.put(NatsProtocol.TRANSFER, transfer);
            h.put(NatsProtocol.PART, i + "/" + parts);
            if (i < parts - 1) {
                h.remove(NatsProtocol.STREAM);
            }
            byte[] data = Arrays.copyOfRange(body, i * chunk, Math.min(body.length, (i + 1) * chunk));
            last = await(NatsMessage.builder().subject(subject).headers(h).data(data).build(), agent, workspaceId, op,
                    deadline);
            if (i < parts - 1 && !last.ok()) {
                return last;
            }
        }
        return last;
    }

    private void waitForStream(RemoteReply reply, AtomicInteger streamed) {
        // the reply says how many output messages the agent published before it; wait briefly for the last ones
        int expected = reply.streamCount();
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        synchronized (streamed) {
            while (streamed.get() < expected && System.nanoTime() < until) {
                try {
                    streamed.wait(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Sends one request and waits for its reply, failing fast when the agent is gone; fetches chunked replies. */
    private RemoteReply await(Message request, String agent, String workspaceId, String op, long deadline) {
        Message answer = awaitMessage(request, agent, workspaceId, op, deadline);
        RemoteReply first = reply(answer);
        String chunks = header(answer, NatsProtocol.CHUNKS);
        if (chunks == null) {
            return first;
        }
        int n = Integer.parseInt(chunks);
        String transfer = header(answer, NatsProtocol.TRANSFER);
        ByteArrayOutputStream all = new ByteArrayOutputStream(first.body().length * n);
        all.writeBytes(first.body());
        for (int i = 1; i < n; i++) {
            Headers h = new Headers();
            h.put(NatsProtocol.TRANSFER, transfer);
            h.put(NatsProtocol.PART, i + "/" + n);
            Message part = awaitMessage(NatsMessage.builder()
                    .subject(NatsProtocol.agentSubject(prefix, agent, NatsProtocol.CHUNK_OP)).headers(h)
                    .data(new byte[0]).build(), agent, workspaceId, op, deadline);
            RemoteReply r = reply(part);
            if (!r.ok()) {
                throw new DerrickException("the agent lost part " + i + " of its " + op + " reply: " + r.text());
            }
            all.writeBytes(r.body());
        }
        return new RemoteReply(first.status(), all.toByteArray(), null, first.streamCount());
    }

    private Message awaitMessage(Message request, String agent, String workspaceId, String op, long deadline) {
        long noRespondersSince = 0;
        while (true) {
            long remaining = checkDeadline(deadline, op, agent, workspaceId);
            CompletableFuture<Message> future;
            try {
                future = conn.requestWithTimeout(request, Duration.ofNanos(remaining));
            } catch (IllegalStateException e) {
                throw new ProviderUnavailableException("NATS connection to " + dev.derrick.core.Redactor.redactUrls(url) + " is closed: " + e.getMessage(), e);
            }
            while (true) {
                try {
                    return future.get(Math.min(POLL.toNanos(), Math.max(1, deadline - System.nanoTime())),
                            TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    Optional<String> gone = goneReason(agent);
                    if (gone.isPresent()) {
                        future.cancel(true);
                        throw gone(workspaceId, agent, gone.get());
                    }
                    if (System.nanoTime() - deadline >= 0) {
                        future.cancel(true);
                        checkDeadline(deadline, op, agent, workspaceId);
                    }
                } catch (InterruptedException e) {
                    future.cancel(true);
                    Thread.currentThread().interrupt();
                    throw new DerrickException("interrupted while waiting for agent " + agent + " (" + op + ")", e);
                } catch (ExecutionException | CancellationException e) {
                    if (!noResponders(e)) {
                        checkDeadline(deadline, op, agent, workspaceId);
                        throw new ProviderUnavailableException("request " + op + " to agent " + agent + " failed: "
                                + e.getMessage(), e);
                    }
                    // nobody listens on the agent's subject: it is gone, or not yet back after a NATS restart
                    long now = System.nanoTime();
                    if (noRespondersSince == 0) {
                        noRespondersSince = now;
                    }
                    Optional<String> gone = goneReason(agent);
                    if (gone.isPresent()) {
                        throw gone(workspaceId, agent, gone.get());
                    }
                    if (now - noRespondersSince > directory.goneAfter(agent).toNanos()) {
                        throw gone(workspaceId, agent, "agent " + agent + " is gone: nobody has answered on "
                                + request.getSubject() + " for " + directory.goneAfter(agent).toSeconds() + " s");
                    }
                    sleep(POLL.toMillis());
                    break;
                }
            }
        }
    }

    /**
     * Why the agent is gone, after confirming it: an agent whose heartbeats are overdue gets one direct request
     * ({@code health}); a SIGKILLed agent has no subscription left, so NATS answers "no responders" at once, while an
     * agent that is merely slow (a starved machine) answers and is kept.
     */
    private Optional<String> goneReason(String agent) {
        Optional<String> reason = directory.goneReason(agent);
        if (reason.isEmpty() || reason.get().contains("shut down")) {
            return reason;
        }
        Duration probe = directory.goneAfter(agent);
        try {
            Message m = conn.requestWithTimeout(NatsProtocol.agentSubject(prefix, agent, "health"), null, RemoteWire.EMPTY,
                    probe).get(probe.toMillis() + 500, TimeUnit.MILLISECONDS);
            if (reply(m).ok()) {
                LOG.debug("agent {} missed heartbeats but answered directly; keeping it", agent);
                directory.touch(agent);
                return Optional.empty();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | IllegalStateException e) {
            LOG.debug("agent {} does not answer: {}", agent, e.toString());
        }
        return reason;
    }

    private long checkDeadline(long deadline, String op, String agent, String workspaceId) {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
            throw new ProviderUnavailableException("no reply to " + op
                    + (workspaceId == null ? "" : " for workspace " + workspaceId)
                    + (agent == null ? "" : " from agent " + agent) + " in time (NATS " + dev.derrick.core.Redactor.redactUrls(url) + ")");
        }
        return remaining;
    }

    private static AgentGoneException gone(String workspaceId, String agent, String reason) {
        return new AgentGoneException(workspaceId, agent,
                (workspaceId == null ? "" : "workspace " + workspaceId + " is unreachable: ") + reason);
    }

    private static boolean noResponders(Throwable e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof JetStreamStatusException s) {
            return s.getStatus() != null && s.getStatus().getCode() == 503;
        }
        return cause instanceof CancellationException;
    }

    private static String header(Message m, String name) {
        return m.hasHeaders() ? m.getHeaders().getFirst(name) : null;
    }

    private static RemoteReply reply(Message m) {
        String status = header(m, NatsProtocol.STATUS);
        String streamed = header(m, NatsProtocol.STREAMED);
        int count = -1;
        if (streamed != null) {
            try {
                count = Integer.parseInt(streamed);
            } catch (NumberFormatException ignored) {
                count = -1;
            }
        }
        return new RemoteReply(status == null ? 200 : Integer.parseInt(status), m.getData(), header(m, NatsProtocol.AGENT),
                count);
    }

    private static JsonNode tree(RemoteReply reply) {
        try {
            return Json.mapper().readTree(reply.body());
        } catch (IOException e) {
            throw new DerrickException("an agent sent a reply that is not JSON: " + e.getMessage(), e);
        }
    }

    private long maxPayload() {
        var info = conn.getServerInfo();
        return info == null || info.getMaxPayload() <= 0 ? 1024 * 1024 : info.getMaxPayload();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted", e);
        }
    }

    @Override
    public String describe() {
        return url + " prefix " + prefix;
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        directory.close();
        try {
            conn.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
