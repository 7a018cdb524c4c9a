package dev.derrick.server.internal.nats;

import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.wire.WireError;
import dev.derrick.server.internal.Reply;
import io.nats.client.Connection;
import io.nats.client.impl.Headers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Answers requests: the reply's status in {@value NatsProtocol#STATUS}, its content type, and a body larger than
 * one message split into parts, the first in the answer ({@value NatsProtocol#TRANSFER}, {@value NatsProtocol#CHUNKS})
 * and the rest fetched by the controller with the {@value NatsProtocol#CHUNK_OP} operation within
 * {@link PartAssembly#TTL}.
 */
final class AgentResponder {
    private static final Logger LOG = LoggerFactory.getLogger(AgentResponder.class);

    private final Supplier<Connection> conn;
    private final String agentId;
    private final Map<String, Parts> outgoing = new ConcurrentHashMap<>();

    private record Parts(byte[][] parts, long createdNanos) {
    }

    AgentResponder(Supplier<Connection> conn, String agentId) {
        this.conn = conn;
        this.agentId = agentId;
    }

    void respond(AgentRequest req, Reply reply, String agent) {
        respond(req, reply, agent, -1);
    }

    /** Answers a request; {@code streamed} ≥ 0 is how many output messages went to its stream subject before. */
    void respond(AgentRequest req, Reply reply, String agent, int streamed) {
        if (req.replyTo() == null) {
            return;
        }
        Connection c = conn.get();
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
        int chunk = NatsProtocol.chunkSize(c.getServerInfo().getMaxPayload());
        if (body.length > chunk) {
            int n = (body.length + chunk - 1) / chunk;
            byte[][] parts = new byte[n][];
            for (int i = 0; i < n; i++) {
                parts[i] = Arrays.copyOfRange(body, i * chunk, Math.min(body.length, (i + 1) * chunk));
            }
            String id = UUID.randomUUID().toString();
            outgoing.put(id, new Parts(parts, System.nanoTime()));
            h.put(NatsProtocol.TRANSFER, id);
            h.put(NatsProtocol.CHUNKS, String.valueOf(n));
            body = parts[0];
        }
        try {
            c.publish(req.replyTo(), h, body);
        } catch (RuntimeException e) {
            LOG.warn("could not answer {} on {}: {}", req.subject(), req.replyTo(), e.toString());
        }
    }

    /** Answers a {@value NatsProtocol#CHUNK_OP} request with the next part of a large reply. */
    void sendChunk(AgentRequest req) {
        String transfer = req.header(NatsProtocol.TRANSFER);
        Parts t = transfer == null ? null : outgoing.get(transfer);
        String part = req.header(NatsProtocol.PART);
        if (t == null || part == null) {
            respond(req, Reply.error(WireError.of(404, WireError.NOT_FOUND, "agent " + agentId
                    + " has no reply transfer '" + transfer + "' (expired after " + PartAssembly.TTL.toSeconds()
                    + " s?)")), null);
            return;
        }
        int index = Integer.parseInt(part.substring(0, part.indexOf('/')));
        if (index < 1 || index >= t.parts().length) {
            respond(req, Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "no part " + index)), null);
            return;
        }
        if (index == t.parts().length - 1) {
            outgoing.remove(transfer);
        }
        Headers h = new Headers();
        h.put(NatsProtocol.STATUS, "200");
        conn.get().publish(req.replyTo(), h, t.parts()[index]);
    }

    /** Drops large replies not fetched within {@link PartAssembly#TTL}. */
    void expire(long nowNanos) {
        outgoing.values().removeIf(t -> nowNanos - t.createdNanos() > PartAssembly.TTL.toNanos());
    }
}
