package dev.derrick.server.internal.nats;

import io.nats.client.Message;
import io.nats.client.impl.Headers;
import io.nats.service.ServiceMessage;

/**
 * One request to the agent, whichever way it arrived: through the agent's {@code io.nats.service} endpoint
 * ({@link ServiceMessage}) or through the claim subscription ({@link Message}), which has no common type.
 */
record AgentRequest(String subject, String replyTo, Headers headers, byte[] data) {
    AgentRequest {
        data = data == null ? new byte[0] : data;
    }

    static AgentRequest of(Message m) {
        return new AgentRequest(m.getSubject(), m.getReplyTo(), m.hasHeaders() ? m.getHeaders() : null, m.getData());
    }

    static AgentRequest of(ServiceMessage m) {
        return new AgentRequest(m.getSubject(), m.getReplyTo(), m.hasHeaders() ? m.getHeaders() : null, m.getData());
    }

    /** The first value of a header, or {@code null}. */
    String header(String name) {
        return headers == null ? null : headers.getFirst(name);
    }

    /** The last subject token: the operation ({@code cmd_with_output}, {@code chunk}, …). */
    String operationToken() {
        return subject.substring(subject.lastIndexOf('.') + 1);
    }
}
