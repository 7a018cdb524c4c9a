package dev.derrick.remote.internal;

import java.nio.charset.StandardCharsets;

/**
 * An agent's answer: an HTTP status code and the body (JSON, or raw bytes for {@code read_file}).
 *
 * @param status HTTP status code; 2xx is success
 * @param body   the body, never {@code null}
 * @param agent  the agent that answered, when the transport knows ({@code null} for HTTP)
 * @param streamCount how many output messages the agent streamed before this reply (NATS); negative when the agent
 *                    streamed nothing because it does not stream (the output then arrives with the result only)
 */
public record RemoteReply(int status, byte[] body, String agent, int streamCount) {
    public RemoteReply {
        body = body == null ? new byte[0] : body;
    }

    public RemoteReply(int status, byte[] body) {
        this(status, body, null, 0);
    }

    public RemoteReply(int status, byte[] body, String agent) {
        this(status, body, agent, 0);
    }

    public boolean ok() {
        return status >= 200 && status < 300;
    }

    public String text() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
